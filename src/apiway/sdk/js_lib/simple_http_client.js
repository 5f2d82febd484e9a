/*
 * apiGateway.core.simpleHttpClientFactory: unsigned requests (no credentials, or an API key only). Written
 * for apiway, with the interface of the SDK AWS generates.
 */
var apiGateway = apiGateway || {};
apiGateway.core = apiGateway.core || {};

apiGateway.core.simpleHttpClientFactory = {};
apiGateway.core.simpleHttpClientFactory.newClient = function (config) {
    'use strict';

    return {
        endpoint: config.endpoint,
        defaultContentType: config.defaultContentType,
        defaultAcceptType: config.defaultAcceptType,

        /* request: {verb, path, headers, queryParams, body}; answers axios's promise of the response. */
        makeRequest: function (request) {
            var utils = apiGateway.core.utils;
            var verb = utils.assertDefined(request.verb, 'verb').toUpperCase();
            var path = utils.assertDefined(request.path, 'path');
            var headers = utils.copy(request.headers) || {};
            var body = verb === 'GET' || verb === 'HEAD' ? '' : utils.serializeBody(request.body);
            if (utils.header(headers, 'Accept') === undefined && this.defaultAcceptType) {
                headers.Accept = this.defaultAcceptType;
            }
            if (body === '') {
                utils.removeHeader(headers, 'Content-Type');
            } else if (utils.header(headers, 'Content-Type') === undefined && this.defaultContentType) {
                headers['Content-Type'] = this.defaultContentType;
            }
            var query = utils.queryString(request.queryParams || {});
            return axios({
                method: verb,
                url: this.endpoint + path + (query ? '?' + query : ''),
                headers: headers,
                data: body === '' ? undefined : body
            });
        }
    };
};
