/*
 * apiGateway.core.apiGatewayClientFactory: what apigClient.js calls for every method; it adds the API key
 * and the caller's extra headers and query parameters, then signs the request (AWS_IAM) or sends it as it
 * is. Written for apiway, with the interface of the SDK AWS generates.
 */
var apiGateway = apiGateway || {};
apiGateway.core = apiGateway.core || {};

apiGateway.core.apiGatewayClientFactory = {};
apiGateway.core.apiGatewayClientFactory.newClient = function (simpleHttpClientConfig, sigV4ClientConfig) {
    'use strict';

    var sigV4Client = apiGateway.core.sigV4ClientFactory.newClient(sigV4ClientConfig);
    var simpleHttpClient = apiGateway.core.simpleHttpClientFactory.newClient(simpleHttpClientConfig);

    return {
        /* authType: 'AWS_IAM' signs with the configured credentials, anything else sends unsigned. */
        makeRequest: function (request, authType, additionalParams, apiKey) {
            var utils = apiGateway.core.utils;
            var extra = additionalParams || {};
            var prepared = utils.copy(request);
            prepared.headers = utils.mergeInto(request.headers, extra.headers);
            prepared.queryParams = utils.mergeInto(request.queryParams, extra.queryParams);
            if (apiKey !== undefined && apiKey !== null && apiKey !== '') {
                prepared.headers['x-api-key'] = apiKey;
            }
            var client = authType === 'AWS_IAM' ? sigV4Client : simpleHttpClient;
            return client.makeRequest(prepared);
        }
    };
};
