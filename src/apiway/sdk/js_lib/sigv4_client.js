/*
 * apiGateway.core.sigV4ClientFactory: requests signed with AWS Signature Version 4 (the `execute-api`
 * service), for methods with AWS_IAM authorization. Written for apiway, with the interface of the SDK AWS
 * generates; hashing and HMAC come from the CryptoJS interface in lib/CryptoJS.
 */
var apiGateway = apiGateway || {};
apiGateway.core = apiGateway.core || {};

apiGateway.core.sigV4ClientFactory = {};
apiGateway.core.sigV4ClientFactory.newClient = function (config) {
    'use strict';

    var ALGORITHM = 'AWS4-HMAC-SHA256';

    function hexHash(payload) {
        if (typeof payload !== 'string') {  /* binary: its bytes, one Latin-1 character each */
            var bytes = new Uint8Array(payload.buffer || payload, payload.byteOffset || 0, payload.byteLength);
            var text = '';
            for (var i = 0; i < bytes.length; i++) {
                text += String.fromCharCode(bytes[i]);
            }
            payload = CryptoJS.enc.Latin1.parse(text);
        }
        return CryptoJS.SHA256(payload).toString(CryptoJS.enc.Hex);
    }

    /* The path as sent, each segment encoded once more: SigV4's canonical URI for every service but S3. */
    function canonicalUri(path) {
        var utils = apiGateway.core.utils;
        return (path || '/').split('/').map(function (segment) { return utils.encode(segment); }).join('/');
    }

    function canonicalHeaders(headers) {
        var names = [];
        var values = {};
        for (var key in headers) {
            if (Object.prototype.hasOwnProperty.call(headers, key) && headers[key] !== undefined) {
                var name = key.toLowerCase();
                if (values[name] === undefined) {
                    names.push(name);
                    values[name] = [];
                }
                values[name].push(String(headers[key]).trim().replace(/\s+/g, ' '));
            }
        }
        names.sort();
        return {
            text: names.map(function (name) { return name + ':' + values[name].join(',') + '\n'; }).join(''),
            signed: names.join(';')
        };
    }

    function signingKey(secretKey, day, region, service) {
        var key = CryptoJS.HmacSHA256(day, 'AWS4' + secretKey);
        key = CryptoJS.HmacSHA256(region, key);
        key = CryptoJS.HmacSHA256(service, key);
        return CryptoJS.HmacSHA256('aws4_request', key);
    }

    /* The time as SigV4 writes it: 20150830T123600Z. */
    function amzDate(offsetMillis) {
        return new Date(Date.now() + (offsetMillis || 0)).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
    }

    return {
        accessKey: config.accessKey,
        secretKey: config.secretKey,
        sessionToken: config.sessionToken,
        serviceName: config.serviceName || 'execute-api',
        region: config.region || 'us-east-1',
        endpoint: config.endpoint,
        defaultContentType: config.defaultContentType,
        defaultAcceptType: config.defaultAcceptType,
        systemClockOffset: config.systemClockOffset || 0,

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
            if (body === '') {  /* no body: no Content-Type to sign either */
                utils.removeHeader(headers, 'Content-Type');
            } else if (utils.header(headers, 'Content-Type') === undefined && this.defaultContentType) {
                headers['Content-Type'] = this.defaultContentType;
            }
            var datetime = amzDate(this.systemClockOffset);
            var day = datetime.substring(0, 8);
            headers['x-amz-date'] = datetime;
            if (this.sessionToken) {
                headers['x-amz-security-token'] = this.sessionToken;
            }
            /* Host is signed but never set: browsers send it themselves (without a default port) and refuse
             * a script's. */
            var host = /^https?:\/\/([^\/?#]+)/i.exec(this.endpoint)[1]
                .replace(/^(.*):(\d+)$/, function (all, name, port) {
                    var https = /^https:/i.test(this.endpoint);
                    return (https && port === '443') || (!https && port === '80') ? name : all;
                }.bind(this));
            var signing = canonicalHeaders(utils.mergeInto(headers, {host: host}));
            var query = utils.queryString(request.queryParams || {});
            var canonicalRequest = [verb, canonicalUri(path), query, signing.text, signing.signed, hexHash(body)]
                .join('\n');
            var scope = [day, this.region, this.serviceName, 'aws4_request'].join('/');
            var stringToSign = [ALGORITHM, datetime, scope, hexHash(canonicalRequest)].join('\n');
            var signature = CryptoJS.HmacSHA256(stringToSign, signingKey(this.secretKey, day, this.region,
                                                                         this.serviceName)).toString(CryptoJS.enc.Hex);
            headers.Authorization = ALGORITHM + ' Credential=' + this.accessKey + '/' + scope + ', SignedHeaders=' +
                signing.signed + ', Signature=' + signature;
            return axios({
                method: verb,
                url: this.endpoint + path + (query ? '?' + query : ''),
                headers: headers,
                data: body === '' ? undefined : body
            });
        }
    };
};
