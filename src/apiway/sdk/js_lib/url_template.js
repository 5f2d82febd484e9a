/*
 * `uritemplate(template).expand(values)`, the URL template interface a generated apiway SDK's apigClient.js
 * calls. Written for apiway. Expands `{name}` (the value percent-encoded, RFC 3986's unreserved characters
 * kept), `{+name}` (reserved characters kept too, RFC 6570 level 2) and API Gateway's greedy `{name+}`
 * (each `/`-separated part encoded, the slashes kept). An undefined value expands to nothing.
 */
var uritemplate = uritemplate || (function () {
    'use strict';

    function encode(value) {
        return encodeURIComponent(value).replace(/[!'()*]/g, function (c) {
            return '%' + c.charCodeAt(0).toString(16).toUpperCase();
        });
    }

    function encodeReserved(value) {
        return encodeURI(value).replace(/%5B/g, '[').replace(/%5D/g, ']');
    }

    function expandOne(expression, values) {
        var reserved = expression.charAt(0) === '+';
        var name = reserved ? expression.substring(1) : expression;
        var greedy = !reserved && name.charAt(name.length - 1) === '+';
        if (greedy) {
            name = name.substring(0, name.length - 1);
        }
        var value = values[name];
        if (value === undefined && greedy) {
            value = values[name + '+'];
        }
        if (value === undefined || value === null) {
            return '';
        }
        value = String(value);
        if (reserved) {
            return encodeReserved(value);
        }
        return greedy ? value.split('/').map(encode).join('/') : encode(value);
    }

    return function (template) {
        return {
            expand: function (values) {
                return template.replace(/\{([^{}]+)\}/g, function (match, expression) {
                    return expandOne(expression, values || {});
                });
            }
        };
    };
})();
