/*
 * The part of axios's interface a generated apiway SDK uses: `axios(config)` (and `axios.request`,
 * `axios.get`, `axios.post`, …) answering a promise of `{data, status, statusText, headers, config}`,
 * rejected for a status outside 2xx with an Error that carries the same members and `response`. Written
 * for apiway; it sends with `fetch` where there is one (browsers, Node 18+) and XMLHttpRequest otherwise.
 * `data` is parsed as JSON when it is JSON, else left as text.
 */
var axios = axios || (function () {
    'use strict';

    function parseData(text) {
        if (typeof text !== 'string' || text === '') {
            return text;
        }
        try {
            return JSON.parse(text);
        } catch (ignored) {
            return text;
        }
    }

    function serialize(config, headers) {
        var data = config.data;
        if (data === undefined || data === null || typeof data === 'string') {
            return data;
        }
        var binary = typeof ArrayBuffer !== 'undefined' && (data instanceof ArrayBuffer || ArrayBuffer.isView(data));
        var form = (typeof FormData !== 'undefined' && data instanceof FormData) ||
            (typeof Blob !== 'undefined' && data instanceof Blob) ||
            (typeof URLSearchParams !== 'undefined' && data instanceof URLSearchParams);
        if (binary || form) {
            return data;
        }
        var named = false;
        for (var key in headers) {
            if (Object.prototype.hasOwnProperty.call(headers, key) && key.toLowerCase() === 'content-type') {
                named = true;
            }
        }
        if (!named) {
            headers['Content-Type'] = 'application/json;charset=utf-8';
        }
        return JSON.stringify(data);
    }

    function withParams(url, params) {
        if (!params) {
            return url;
        }
        var parts = [];
        for (var key in params) {
            if (Object.prototype.hasOwnProperty.call(params, key) && params[key] !== undefined) {
                parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(params[key]));
            }
        }
        return parts.length ? url + (url.indexOf('?') < 0 ? '?' : '&') + parts.join('&') : url;
    }

    function settle(response, config) {
        var valid = config.validateStatus || function (status) { return status >= 200 && status < 300; };
        if (valid(response.status)) {
            return response;
        }
        var error = new Error('Request failed with status code ' + response.status);
        error.response = response;
        error.config = config;
        /* Code written for the SDK's older axios reads these from what the promise is rejected with. */
        error.data = response.data;
        error.status = response.status;
        error.statusText = response.statusText;
        error.headers = response.headers;
        throw error;
    }

    function viaFetch(method, url, headers, data, config) {
        var sent = {};
        for (var name in headers) {
            if (Object.prototype.hasOwnProperty.call(headers, name) && headers[name] !== undefined) {
                sent[name] = headers[name];
            }
        }
        var init = {method: method, headers: sent};
        if (data !== undefined && data !== null && method !== 'GET' && method !== 'HEAD') {
            init.body = data;
        }
        if (config.withCredentials) {
            init.credentials = 'include';
        }
        return fetch(url, init).then(function (res) {
            var received = {};
            res.headers.forEach(function (value, name) {
                received[name.toLowerCase()] = value;
            });
            return res.text().then(function (text) {
                return {data: parseData(text), status: res.status, statusText: res.statusText, headers: received,
                        config: config, request: res};
            });
        }, function (cause) {
            var error = new Error('Network Error');
            error.cause = cause;
            error.config = config;
            throw error;
        });
    }

    function viaXhr(method, url, headers, data, config) {
        return new Promise(function (resolve, reject) {
            var xhr = new XMLHttpRequest();
            xhr.open(method, url, true);
            xhr.withCredentials = !!config.withCredentials;
            for (var name in headers) {
                if (Object.prototype.hasOwnProperty.call(headers, name) && headers[name] !== undefined) {
                    xhr.setRequestHeader(name, headers[name]);
                }
            }
            xhr.onload = function () {
                var received = {};
                (xhr.getAllResponseHeaders() || '').split(/\r?\n/).forEach(function (line) {
                    var at = line.indexOf(':');
                    if (at > 0) {
                        received[line.substring(0, at).trim().toLowerCase()] = line.substring(at + 1).trim();
                    }
                });
                resolve({data: parseData(xhr.responseText), status: xhr.status, statusText: xhr.statusText,
                         headers: received, config: config, request: xhr});
            };
            xhr.onerror = function () {
                var error = new Error('Network Error');
                error.config = config;
                reject(error);
            };
            xhr.send(data === undefined || method === 'GET' || method === 'HEAD' ? null : data);
        });
    }

    function request(config) {
        var method = (config.method || 'get').toUpperCase();
        var headers = {};
        for (var key in config.headers || {}) {
            if (Object.prototype.hasOwnProperty.call(config.headers, key)) {
                headers[key] = config.headers[key];
            }
        }
        var data;
        try {
            data = serialize(config, headers);
        } catch (error) {
            return Promise.reject(error);
        }
        var url = withParams(config.url, config.params);
        var send = typeof fetch === 'function' ? viaFetch : viaXhr;
        return send(method, url, headers, data, config).then(function (response) {
            return settle(response, config);
        });
    }

    function merged(config, extra) {
        var out = {};
        var key;
        for (key in config || {}) {
            if (Object.prototype.hasOwnProperty.call(config, key)) {
                out[key] = config[key];
            }
        }
        for (key in extra) {
            if (Object.prototype.hasOwnProperty.call(extra, key)) {
                out[key] = extra[key];
            }
        }
        return out;
    }

    var client = function (config) {
        return request(config);
    };
    client.request = request;
    ['get', 'delete', 'head', 'options'].forEach(function (method) {
        client[method] = function (url, config) {
            return request(merged(config, {method: method, url: url}));
        };
    });
    ['post', 'put', 'patch'].forEach(function (method) {
        client[method] = function (url, data, config) {
            return request(merged(config, {method: method, url: url, data: data}));
        };
    });
    return client;
})();
