/*
 * The part of CryptoJS's interface a generated apiway SDK uses: SHA-256, HMAC-SHA256, word arrays and the
 * Hex, Utf8, Latin1 and Base64 encoders. Written for apiway, synchronous (as SigV4 signing in the client is)
 * and free of any platform API, so it runs in every browser and in Node. It is installed under each file
 * name of CryptoJS that the SDK's README loads; whichever loads first defines CryptoJS, the others keep it.
 */
var CryptoJS = CryptoJS || (function () {
    'use strict';

    var K = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
    ];
    var INITIAL = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    var BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

    /* A byte string as CryptoJS holds it: big-endian 32-bit words and the number of bytes that count. */
    function WordArray(words, sigBytes) {
        this.words = words || [];
        this.sigBytes = sigBytes === undefined ? this.words.length * 4 : sigBytes;
    }
    WordArray.prototype.toString = function (encoder) {
        return (encoder || Hex).stringify(this);
    };
    WordArray.prototype.clone = function () {
        return new WordArray(this.words.slice(0), this.sigBytes);
    };
    WordArray.prototype.concat = function (other) {
        var bytes = toBytes(this).concat(toBytes(other));
        var joined = fromBytes(bytes);
        this.words = joined.words;
        this.sigBytes = joined.sigBytes;
        return this;
    };
    WordArray.create = function (words, sigBytes) {
        return new WordArray(words, sigBytes);
    };

    function toBytes(wordArray) {
        var bytes = [];
        for (var i = 0; i < wordArray.sigBytes; i++) {
            bytes.push((wordArray.words[i >>> 2] >>> (24 - (i % 4) * 8)) & 0xff);
        }
        return bytes;
    }

    function fromBytes(bytes) {
        var words = [];
        for (var i = 0; i < bytes.length; i++) {
            words[i >>> 2] |= (bytes[i] & 0xff) << (24 - (i % 4) * 8);
        }
        return new WordArray(words, bytes.length);
    }

    var Hex = {
        stringify: function (wordArray) {
            var bytes = toBytes(wordArray), out = '';
            for (var i = 0; i < bytes.length; i++) {
                out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
            }
            return out;
        },
        parse: function (text) {
            var bytes = [];
            for (var i = 0; i + 1 < text.length; i += 2) {
                bytes.push(parseInt(text.substr(i, 2), 16));
            }
            return fromBytes(bytes);
        }
    };

    var Latin1 = {
        stringify: function (wordArray) {
            var bytes = toBytes(wordArray), out = '';
            for (var i = 0; i < bytes.length; i++) {
                out += String.fromCharCode(bytes[i]);
            }
            return out;
        },
        parse: function (text) {
            var bytes = [];
            for (var i = 0; i < text.length; i++) {
                bytes.push(text.charCodeAt(i) & 0xff);
            }
            return fromBytes(bytes);
        }
    };

    var Utf8 = {
        stringify: function (wordArray) {
            var bytes = toBytes(wordArray), out = '', i = 0;
            while (i < bytes.length) {
                var b = bytes[i], point, extra;
                if (b < 0x80) { point = b; extra = 0; }
                else if (b < 0xe0) { point = b & 0x1f; extra = 1; }
                else if (b < 0xf0) { point = b & 0x0f; extra = 2; }
                else { point = b & 0x07; extra = 3; }
                for (var j = 1; j <= extra; j++) {
                    point = (point << 6) | (bytes[i + j] & 0x3f);
                }
                i += extra + 1;
                if (point > 0xffff) {
                    point -= 0x10000;
                    out += String.fromCharCode(0xd800 + (point >> 10), 0xdc00 + (point & 0x3ff));
                } else {
                    out += String.fromCharCode(point);
                }
            }
            return out;
        },
        parse: function (text) {
            var bytes = [];
            for (var i = 0; i < text.length; i++) {
                var point = text.charCodeAt(i);
                var next = text.charCodeAt(i + 1);
                if (point >= 0xd800 && point < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
                    point = 0x10000 + ((point - 0xd800) << 10) + (next - 0xdc00);
                    i++;
                }
                if (point < 0x80) {
                    bytes.push(point);
                } else if (point < 0x800) {
                    bytes.push(0xc0 | (point >> 6), 0x80 | (point & 0x3f));
                } else if (point < 0x10000) {
                    bytes.push(0xe0 | (point >> 12), 0x80 | ((point >> 6) & 0x3f), 0x80 | (point & 0x3f));
                } else {
                    bytes.push(0xf0 | (point >> 18), 0x80 | ((point >> 12) & 0x3f), 0x80 | ((point >> 6) & 0x3f),
                               0x80 | (point & 0x3f));
                }
            }
            return fromBytes(bytes);
        }
    };

    var Base64 = {
        stringify: function (wordArray) {
            var bytes = toBytes(wordArray), out = '';
            for (var i = 0; i < bytes.length; i += 3) {
                var chunk = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
                var present = Math.min(3, bytes.length - i);  /* n bytes make n + 1 characters, then padding */
                for (var j = 0; j < 4; j++) {
                    out += j <= present ? BASE64.charAt((chunk >>> (18 - 6 * j)) & 0x3f) : '=';
                }
            }
            return out;
        },
        parse: function (text) {
            var clean = text.replace(/[^A-Za-z0-9+/]/g, ''), bytes = [], bits = 0, value = 0;
            for (var i = 0; i < clean.length; i++) {
                value = (value << 6) | BASE64.indexOf(clean.charAt(i));
                bits += 6;
                if (bits >= 8) {
                    bits -= 8;
                    bytes.push((value >>> bits) & 0xff);
                }
            }
            return fromBytes(bytes);
        }
    };

    function asBytes(message) {
        return toBytes(typeof message === 'string' ? Utf8.parse(message) : message);
    }

    function rotr(x, n) {
        return (x >>> n) | (x << (32 - n));
    }

    /* SHA-256 (FIPS 180-4) of a byte list; the digest as 8 words. */
    function digest(bytes) {
        var length = bytes.length;
        var padded = Math.ceil((length + 9) / 64) * 64;
        var block = bytes.slice(0);
        block.push(0x80);
        while (block.length < padded - 8) {
            block.push(0);
        }
        var high = Math.floor(length / 0x20000000), low = (length * 8) >>> 0;
        block.push((high >>> 24) & 0xff, (high >>> 16) & 0xff, (high >>> 8) & 0xff, high & 0xff,
                   (low >>> 24) & 0xff, (low >>> 16) & 0xff, (low >>> 8) & 0xff, low & 0xff);
        var H = INITIAL.slice(0), W = new Array(64);
        for (var offset = 0; offset < padded; offset += 64) {
            for (var i = 0; i < 16; i++) {
                var at = offset + i * 4;
                W[i] = (block[at] << 24) | (block[at + 1] << 16) | (block[at + 2] << 8) | block[at + 3];
            }
            for (i = 16; i < 64; i++) {
                var s0 = rotr(W[i - 15], 7) ^ rotr(W[i - 15], 18) ^ (W[i - 15] >>> 3);
                var s1 = rotr(W[i - 2], 17) ^ rotr(W[i - 2], 19) ^ (W[i - 2] >>> 10);
                W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
            }
            var a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
            for (i = 0; i < 64; i++) {
                var t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
                var t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
                h = g; g = f; f = e; e = (d + t1) | 0;
                d = c; c = b; b = a; a = (t1 + t2) | 0;
            }
            H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0;
            H[4] = (H[4] + e) | 0; H[5] = (H[5] + f) | 0; H[6] = (H[6] + g) | 0; H[7] = (H[7] + h) | 0;
        }
        return H;
    }

    function SHA256(message) {
        return new WordArray(digest(asBytes(message)), 32);
    }

    /* HMAC (RFC 2104) with SHA-256; the key as CryptoJS takes it: a string (UTF-8) or a word array. */
    function HmacSHA256(message, key) {
        var keyBytes = asBytes(key);
        if (keyBytes.length > 64) {
            keyBytes = toBytes(SHA256(fromBytes(keyBytes)));
        }
        var inner = [], outer = [];
        for (var i = 0; i < 64; i++) {
            var k = keyBytes[i] || 0;
            inner.push(k ^ 0x36);
            outer.push(k ^ 0x5c);
        }
        var innerDigest = toBytes(new WordArray(digest(inner.concat(asBytes(message))), 32));
        return new WordArray(digest(outer.concat(innerDigest)), 32);
    }

    return {
        lib: {WordArray: WordArray},
        enc: {Hex: Hex, Latin1: Latin1, Utf8: Utf8, Base64: Base64},
        SHA256: SHA256,
        HmacSHA256: HmacSHA256
    };
})();
