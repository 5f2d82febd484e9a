/*
 * apiGateway.core.utils: the helpers apigClient.js and the request clients share. Written for apiway, with
 * the interface of the SDK AWS generates.
 */
var apiGateway = apiGateway || {};
apiGateway.core = apiGateway.core || {};

apiGateway.core.utils = (function () {
    'use strict';

    var utils = {
        /* The value, or an Error naming what is missing. */
        assertDefined: function (object, name) {
            if (object === undefined) {
                throw new Error(name + ' must be defined');
            }
            return object;
        },

        /* Every key of `keys` not in `ignore` must be a defined member of params. */
        assertParametersDefined: function (params, keys, ignore) {
            if (keys === undefined || keys.length === 0) {
                return;
            }
            var given = params || {};
            for (var i = 0; i < keys.length; i++) {
                if (!utils.contains(ignore, keys[i])) {
                    utils.assertDefined(given[keys[i]], keys[i]);
                }
            }
        },

        /* The members of params named in keys that are defined, as a new object. */
        parseParametersToObject: function (params, keys) {
            var object = {};
            if (params === undefined || params === null) {
                return object;
            }
            for (var i = 0; i < keys.length; i++) {
                if (params[keys[i]] !== undefined) {
                    object[keys[i]] = params[keys[i]];
                }
            }
            return object;
        },

        contains: function (list, item) {
            if (list === undefined || list === null) {
                return false;
            }
            for (var i = 0; i < list.length; i++) {
                if (list[i] === item) {
                    return true;
                }
            }
            return false;
        },

        /* A shallow copy (objects of plain data only); null and undefined stay as they are. */
        copy: function (object) {
            if (object === null || object === undefined || typeof object !== 'object') {
                return object;
            }
            var copied = {};
            for (var key in object) {
                if (Object.prototype.hasOwnProperty.call(object, key)) {
                    copied[key] = object[key];
                }
            }
            return copied;
        },

        /* A copy of base with additional's members set over it. */
        mergeInto: function (base, additional) {
            var merged = utils.copy(base) || {};
            for (var key in additional) {
                if (Object.prototype.hasOwnProperty.call(additional, key)) {
                    merged[key] = additional[key];
                }
            }
            return merged;
        },

        /* The header's value whatever the case of its name, or undefined. */
        header: function (headers, name) {
            var wanted = name.toLowerCase();
            for (var key in headers) {
                if (Object.prototype.hasOwnProperty.call(headers, key) && key.toLowerCase() === wanted) {
                    return headers[key];
                }
            }
            return undefined;
        },

        removeHeader: function (headers, name) {
            var wanted = name.toLowerCase();
            for (var key in headers) {
                if (Object.prototype.hasOwnProperty.call(headers, key) && key.toLowerCase() === wanted) {
                    delete headers[key];
                }
            }
        },

        /* RFC 3986 percent-encoding: only the unreserved characters stay as they are (what SigV4 wants). */
        encode: function (value) {
            return encodeURIComponent(value).replace(/[!'()*]/g, function (c) {
                return '%' + c.charCodeAt(0).toString(16).toUpperCase();
            });
        },

        /* A query string with its pairs sorted by encoded name then value, the form SigV4 signs; an array
         * value gives one pair per element. */
        queryString: function (queryParams) {
            var pairs = [];
            for (var key in queryParams) {
                if (!Object.prototype.hasOwnProperty.call(queryParams, key) || queryParams[key] === undefined) {
                    continue;
                }
                var values = Object.prototype.toString.call(queryParams[key]) === '[object Array]'
                    ? queryParams[key] : [queryParams[key]];
                for (var i = 0; i < values.length; i++) {
                    pairs.push([utils.encode(key), utils.encode(values[i] === null ? '' : String(values[i]))]);
                }
            }
            pairs.sort(function (a, b) {
                return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
            });
            return pairs.map(function (pair) { return pair[0] + '=' + pair[1]; }).join('&');
        },

        /* The body as sent: '' for none, a string or binary data (an ArrayBuffer or a typed array) as it
         * is, anything else as JSON. */
        serializeBody: function (body) {
            if (body === undefined || body === null || body === '') {
                return '';
            }
            if (typeof body === 'string' || utils.isBinary(body)) {
                return body;
            }
            return JSON.stringify(body);
        },

        isBinary: function (body) {
            return typeof ArrayBuffer !== 'undefined' && (body instanceof ArrayBuffer || ArrayBuffer.isView(body));
        }
    };
    return utils;
})();
