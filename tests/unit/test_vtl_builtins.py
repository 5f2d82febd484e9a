"""`$input`, `$util` and the template variables, exercised through the VtlObject protocol.

Sources cited per test: the behavioural spec (aws-api-gateway.md §4.2-4.7), the AWS recordings
(aws-recorded/test_apigateway_common.snapshot.json and test_apigateway_integrations.snapshot.json, keys named in
the comments), and the Java behaviour API Gateway exposes (Apache Commons Lang 2 StringEscapeUtils, java.net
URLEncoder/URLDecoder, Double.toString, json-smart).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from apiway.vtl import builtins
from apiway.vtl.builtins import (
    UTIL,
    InputVariable,
    TemplateFunctionError,
    UtilVariable,
    java_double,
    template_variables,
    to_java_string,
    to_json_text,
)
from apiway.vtl.protocol import Missing, VtlObject

NO_PARAMS: dict[str, dict[str, str]] = {"path": {}, "querystring": {}, "header": {}}


def call(obj: VtlObject, name: str, *args: Any) -> Any:
    return obj.vtl_call(name, list(args))


def util(name: str, *args: Any) -> Any:
    return UTIL.vtl_call(name, list(args))


def input_of(body: bytes | str, params: dict[str, dict[str, str]] | None = None) -> InputVariable:
    return InputVariable(body.encode() if isinstance(body, str) else body, params or NO_PARAMS)


# --------------------------------------------------------------------------------------------------------------------
# $input.body


@pytest.mark.parametrize(
    ("body", "rendered"),
    [
        # test_input_body_formatting → response-raw-body: empty-body / json-body / str-body
        (b"", "{}"),
        (b'{"some": "value"}', '{"some": "value"}'),
        (b"some raw data", "some raw data"),
    ],
)
def test_body_is_the_raw_payload_and_empty_is_an_empty_object(body: bytes, rendered: str) -> None:
    assert input_of(body).vtl_get("body") == rendered


def test_body_url_encoded() -> None:
    # test_input_body_formatting → response-url-encode: `EncodedBody=$util.urlEncode($input.body)`
    assert util("urlEncode", input_of(b"").vtl_get("body")) == "%7B%7D"
    assert util("urlEncode", input_of(b'{"some": "value"}').vtl_get("body")) == "%7B%22some%22%3A+%22value%22%7D"
    assert util("urlEncode", input_of(b"some raw data").vtl_get("body")) == "some+raw+data"
    # ...`&EncodedBodyAccess=` rendered empty: a null argument gives null back (rendered as nothing).
    assert util("urlEncode", None) is None


def test_body_keeps_non_ascii_text() -> None:
    assert input_of('{"name": "Zoë 😀"}').vtl_get("body") == '{"name": "Zoë 😀"}'
    assert input_of(b"\xff\xfe").vtl_get("body") == "\ufffd\ufffd"  # invalid UTF-8 is replaced, not an error


# --------------------------------------------------------------------------------------------------------------------
# $input.path — native values


def test_path_returns_native_values() -> None:
    # Spec §4.2: `$input.path` returns a native object usable with .size(), .get(), #foreach; §4.7: numbers keep
    # their JSON type (1 stays an integer, 1.0 a double).
    payload = input_of(b'{"a": {"b": [1, 1.0, "x", true, null]}, "n": 1, "f": 1.0}')
    assert call(payload, "path", "$.a") == {"b": [1, 1.0, "x", True, None]}
    assert call(payload, "path", "$.a.b[2]") == "x"
    assert call(payload, "path", "$.a.b[3]") is True
    n, f = call(payload, "path", "$.n"), call(payload, "path", "$.f")
    assert (n, type(n)) == (1, int)
    assert (f, type(f)) == (1.0, float)
    assert call(payload, "path", "$.a.b[*]") == [1, 1.0, "x", True, None]


@pytest.mark.parametrize(
    ("body", "expression", "rendered"),
    [
        # test_input_path_template_formatting: how the Java value of `$input.path(...)` prints. The recorded
        # template is not in the recording; these are the payload/path pairs its keys describe.
        (b'{"foo": "bar"}', "$", "{foo=bar}"),  # dict-response
        (b'[{"foo": "bar"}]', "$", '[{"foo":"bar"}]'),  # json-list
        (b'{"nested": {"foo": "bar"}}', "$.nested", "{foo=bar}"),  # nested-dict
        (b'{"nested": [{"foo": "bar"}]}', "$.nested", '[{"foo":"bar"}]'),  # nested-list
        (b'[{"foo": "bar"}]', "$[0]", "{foo=bar}"),  # dict-in-list
        (b'{"foo": [{"nested": "bar"}]}', "$", '{foo=[{"nested":"bar"}]}'),  # dict-with-nested-list
        (b'{"bigger": "dict", "to": "test", "with": "separators"}', "$", "{bigger=dict, to=test, with=separators}"),
        (b'{"list": [{"foo": "bar"}]}', "$", '{list=[{"foo":"bar"}]}'),  # list-to-string
        (b"[]", "$", "[]"),  # nested-empty-list: `"body": []`
    ],
)
def test_path_results_print_like_java(body: bytes, expression: str, rendered: str) -> None:
    assert to_java_string(call(input_of(body), "path", expression)) == rendered


def test_path_missing_or_null_is_null() -> None:
    # test_input_path_template_formatting → empty-body: body and nested render empty and `== $null` holds;
    # nested-empty-list: a property of a list is null; nested-null-list: a JSON null is null.
    assert call(input_of(b""), "path", "$") is None
    assert call(input_of(b""), "path", "$.nested") is None
    assert call(input_of(b"[]"), "path", "$.nested") is None
    assert call(input_of(b'{"body": null}'), "path", "$.body") is None
    assert call(input_of(b"null"), "path", "$") is None
    assert call(input_of(b'{"a": 1}'), "path", "$.b") is None


def test_path_of_a_non_json_payload_is_the_text() -> None:
    # Jayway's default JSON provider (json-smart, permissive mode) reads unquoted text as a string: the common
    # form-urlencoded request template does `#set($raw = $input.path('$'))` and splits it on '&'.
    payload = input_of(b"a=1&b=two+words")
    assert call(payload, "path", "$") == "a=1&b=two+words"
    assert call(payload, "path", "$.a") is None
    assert call(payload, "json", "$") == '"a=1&b=two+words"'


def test_path_and_json_share_one_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    parses = []
    real = builtins._loads

    def counting(data: Any) -> Any:
        parses.append(data)
        return real(data)

    monkeypatch.setattr(builtins, "_loads", counting)
    payload = input_of(b'{"a": [1, 2]}')
    assert parses == []  # lazily: nothing parsed before the first use
    call(payload, "path", "$.a")
    call(payload, "json", "$.a[0]")
    call(payload, "json", "$")
    assert len(parses) == 1


def test_large_integers_stay_exact() -> None:
    big = 12345678901234567890123
    assert call(input_of(f'{{"n": {big}}}'), "path", "$.n") == big
    assert call(input_of(f'{{"n": {big}}}'), "json", "$.n") == str(big)


# --------------------------------------------------------------------------------------------------------------------
# $input.json — JSON text


def test_json_returns_json_text() -> None:
    # Spec §4.2/§4.7: strings come back quoted, objects and arrays as compact JSON, so templates write
    # `"body": $input.json('$')` without quotes.
    payload = input_of(b'{"message": "foobar", "obj": {"a": 1, "b": [true, null]}, "n": 1, "f": 1.0, "s": "1"}')
    assert call(payload, "json", "$.message") == '"foobar"'
    assert call(payload, "json", "$.obj") == '{"a":1,"b":[true,null]}'
    assert call(payload, "json", "$.obj.b") == "[true,null]"
    assert call(payload, "json", "$.n") == "1"
    assert call(payload, "json", "$.f") == "1.0"
    assert call(payload, "json", "$.s") == '"1"'
    assert call(payload, "json", "$.obj.b[1]") == "null"
    assert call(payload, "json", "$..a") == "[1]"
    assert call(payload, "json", "$") == '{"message":"foobar","obj":{"a":1,"b":[true,null]},"n":1,"f":1.0,"s":"1"}'


def test_json_then_escape_javascript() -> None:
    # `$util.escapeJavaScript($input.json('$.message'))` on {"action":"$default","message":"foobar"} → \"foobar\"
    payload = input_of(b'{"action":"$default","message":"foobar"}')
    assert util("escapeJavaScript", call(payload, "json", "$.message")) == '\\"foobar\\"'


def test_json_of_nothing() -> None:
    # Spec §4.2: `$input.json('$')` on an empty body is `{}`; a path with no match gives empty output.
    assert call(input_of(b""), "json", "$") == "{}"
    assert call(input_of(b""), "json", "$.a") == ""
    assert call(input_of(b'{"a": 1}'), "json", "$.b") == ""
    assert call(input_of(b'{"a": 1}'), "json", "$.b[*]") == ""  # missing definite prefix: no result at all
    assert call(input_of(b'{"a": []}'), "json", "$.a[*]") == "[]"


def test_json_uses_java_number_and_json_smart_string_formatting() -> None:
    payload = input_of(
        '{"big": 1e20, "small": 0.0001, "seven": 12345678.0, "price": 8.95, "url": "https://x/y", "ctl": "a\\u0001",'
        ' "nl": "a\\nb", "uni": "é\\u2028"}'
    )
    assert call(payload, "json", "$.big") == "1.0E20"  # Double.toString
    assert call(payload, "json", "$.small") == "1.0E-4"
    assert call(payload, "json", "$.seven") == "1.2345678E7"
    assert call(payload, "json", "$.price") == "8.95"
    assert call(payload, "json", "$.url") == '"https:\\/\\/x\\/y"'  # json-smart escapes '/'
    assert call(payload, "json", "$.ctl") == '"a\\u0001"'
    assert call(payload, "json", "$.nl") == '"a\\nb"'
    assert call(payload, "json", "$.uni") == '"é\\u2028"'


def test_invalid_jsonpath_fails_the_template() -> None:
    with pytest.raises(TemplateFunctionError):
        call(input_of(b"{}"), "json", "$[")
    with pytest.raises(TemplateFunctionError):
        call(input_of(b"{}"), "path", "$.a b")
    with pytest.raises(TemplateFunctionError):
        call(input_of(b"{}"), "path", None)


# --------------------------------------------------------------------------------------------------------------------
# $input.params


PARAMS = {
    "path": {"id": "42", "both": "from-path"},
    "querystring": {"q": "search", "both": "from-query", "empty": ""},
    "header": {"X-Foo": "bar", "q": "from-header", "Accept": "application/json"},
}


def test_params_without_argument_has_exactly_three_maps() -> None:
    # Spec §4.2: `$input.params()` is a Map with exactly path, querystring, header.
    params = call(input_of(b"", PARAMS), "params")
    assert list(params) == ["path", "querystring", "header"]
    assert params["path"] == {"id": "42", "both": "from-path"}
    assert list(params["header"]) == ["X-Foo", "q", "Accept"]  # request order
    assert call(input_of(b""), "params") == {"path": {}, "querystring": {}, "header": {}}
    assert InputVariable(b"", {"header": {"a": "b"}}).params() == {"path": {}, "querystring": {}, "header": {"a": "b"}}


def test_params_by_name_searches_path_then_querystring_then_header() -> None:
    payload = input_of(b"", PARAMS)
    # test_mock_integration_response → mock-response: `$input.params().path.id` gives "42".
    assert call(payload, "params")["path"].get("id") == "42"
    assert call(payload, "params", "id") == "42"
    assert call(payload, "params", "both") == "from-path"
    assert call(payload, "params", "q") == "search"
    assert call(payload, "params", "X-Foo") == "bar"
    assert call(payload, "params")["header"].get("X-Foo") == "bar"
    assert call(payload, "params", "empty") == ""
    assert call(payload, "params", "absent") == ""  # spec §4.2: empty string if absent
    assert call(payload, "params", "x-foo") == ""  # spec §4.2: header names are case-sensitive on REST


def test_params_are_copies() -> None:
    given = {"path": {"id": "1"}, "querystring": {}, "header": {}}
    payload = InputVariable(b"", given)
    call(payload, "params")["path"]["id"] = "changed"
    assert given["path"]["id"] == "1"


def test_request_override_carrier_chain() -> None:
    # test_integration_mock_with_request_overrides_in_response_template → invoke-path1: the request template
    # base64-decodes the path parameter, the response template parses it and branches on `.message`.
    encoded = base64.b64encode(b'{"message":"path1"}').decode()
    payload = input_of(b"", {"path": {"testPath": encoded}, "querystring": {}, "header": {}})
    decoded = util("base64Decode", call(payload, "params", "testPath"))
    assert decoded == '{"message":"path1"}'
    assert util("parseJson", decoded)["message"] == "path1"


def test_input_protocol_surface() -> None:
    payload = input_of(b'{"a": 1}')
    with pytest.raises(Missing):
        payload.vtl_get("json")
    with pytest.raises(Missing):
        payload.vtl_get("nope")
    with pytest.raises(Missing):
        call(payload, "json")  # json() needs its path
    with pytest.raises(Missing):
        call(payload, "path", "$", "$")
    with pytest.raises(Missing):
        call(payload, "json", 1)
    with pytest.raises(Missing):
        call(payload, "nope")
    assert call(payload, "getBody") == '{"a": 1}'


# --------------------------------------------------------------------------------------------------------------------
# $util


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        # Spec §4.3 and Commons Lang 2 StringEscapeUtils.escapeJavaScript.
        ("it's", "it\\'s"),
        ('say "hi"', 'say \\"hi\\"'),
        ("back\\slash", "back\\\\slash"),
        ("a/b", "a\\/b"),
        ("line1\nline2\ttab\rcr\bbs\fff", "line1\\nline2\\ttab\\rcr\\bbs\\fff"),
        ("\x00\x01\x1f", "\\u0000\\u0001\\u001F"),
        ("\x7f", "\x7f"),  # DEL is not above 0x7f: kept
        ("é", "\\u00E9"),
        ("€", "\\u20AC"),
        ("日本", "\\u65E5\\u672C"),
        ("😀", "\\uD83D\\uDE00"),  # one escape per UTF-16 code unit
        ('{"foo": 123}', '{\\"foo\\": 123}'),
        ("0010", "0010"),
        ("", ""),
    ],
)
def test_escape_javascript(text: str, escaped: str) -> None:
    assert util("escapeJavaScript", text) == escaped


def test_escape_javascript_of_non_strings() -> None:
    assert util("escapeJavaScript", None) is None
    assert util("escapeJavaScript", 1) == "1"
    assert util("escapeJavaScript", True) == "true"
    assert util("escapeJavaScript", {"a": "b/c"}) == "{a=b\\/c}"


def test_parse_json() -> None:
    assert util("parseJson", '{"key1":"var1","key2":{"arr":[1,2,3]}}') == {"key1": "var1", "key2": {"arr": [1, 2, 3]}}
    assert util("parseJson", "[1,2,3]") == [1, 2, 3]
    assert util("parseJson", '"string"') == "string"
    assert util("parseJson", "true") is True
    assert util("parseJson", "null") is None
    assert util("parseJson", "[]") == []
    one, one_float = util("parseJson", "1"), util("parseJson", "1.0")
    assert (one, type(one)) == (1, int)
    assert (one_float, type(one_float)) == (1.0, float)
    assert util("parseJson", ' {"a": "é"} ') == {"a": "é"}
    assert util("parseJson", None) is None


@pytest.mark.parametrize("text", ["", "{", "{'a': 1}", "not json", "[1,]", "NaN", '{"a": 1} x'])
def test_parse_json_rejects_invalid_json(text: str) -> None:
    with pytest.raises(TemplateFunctionError):
        util("parseJson", text)


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        # java.net.URLEncoder.encode(s, "UTF-8"): a-z A-Z 0-9 . - * _ unchanged, space → +, rest %XX uppercase.
        ("x=a+b", "x%3Da%2Bb"),
        ("hello world", "hello+world"),
        ("a.b-c*d_e", "a.b-c*d_e"),
        ("~!'()", "%7E%21%27%28%29"),
        ("/?&#%", "%2F%3F%26%23%25"),
        ("é", "%C3%A9"),
        ("😀", "%F0%9F%98%80"),
        ("", ""),
    ],
)
def test_url_encode(text: str, encoded: str) -> None:
    assert util("urlEncode", text) == encoded


@pytest.mark.parametrize(
    ("text", "decoded"),
    [
        # java.net.URLDecoder.decode(s, "UTF-8")
        ("x=a+b", "x=a b"),
        ("x%3Da%2Bb", "x=a+b"),
        ("%C3%A9t%c3%a9", "été"),
        ("%F0%9F%98%80", "😀"),
        ("100%25", "100%"),
        ("%FF", "\ufffd"),  # malformed UTF-8 becomes U+FFFD
        ("plain", "plain"),
    ],
)
def test_url_decode(text: str, decoded: str) -> None:
    assert util("urlDecode", text) == decoded


@pytest.mark.parametrize("text", ["%", "abc%4", "%G1", "%%"])
def test_url_decode_rejects_broken_escapes(text: str) -> None:
    # URLDecoder throws IllegalArgumentException ("Incomplete trailing escape" / "Illegal hex characters").
    with pytest.raises(TemplateFunctionError):
        util("urlDecode", text)


def test_base64() -> None:
    # Spec §4.3: UTF-8 base64.
    assert util("base64Encode", "hello") == "aGVsbG8="
    assert util("base64Encode", "é😀") == "w6nwn5iA"
    assert util("base64Encode", "") == ""
    assert util("base64Decode", "aGVsbG8=") == "hello"
    assert util("base64Decode", "w6nwn5iA") == "é😀"
    assert util("base64Decode", "eyJtZXNzYWdlIjoicGF0aDEifQ==") == '{"message":"path1"}'
    # Lenient like Commons Codec: missing padding, line breaks, URL-safe alphabet.
    assert util("base64Decode", "aGVsbG8") == "hello"
    assert util("base64Decode", "aGVs\nbG8=") == "hello"
    assert util("base64Decode", "-_8=") == base64.b64decode("+/8=").decode("utf-8", "replace")
    assert util("base64Decode", None) is None


def test_util_protocol_surface() -> None:
    assert isinstance(UTIL, UtilVariable)
    for name in ("toJson", "qr", "error", "nope"):
        with pytest.raises(Missing):
            util(name, "x")
    with pytest.raises(Missing):
        util("urlEncode")
    with pytest.raises(Missing):
        util("urlEncode", "a", "b")
    with pytest.raises(Missing):
        UTIL.vtl_get("urlEncode")


# --------------------------------------------------------------------------------------------------------------------
# Value rendering helpers


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1.0"),
        (8.95, "8.95"),
        (100.0, "100.0"),
        (0.001, "0.001"),
        (1234567.5, "1234567.5"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (0.0001, "1.0E-4"),
        (1e20, "1.0E20"),
        (-2.5e-7, "-2.5E-7"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
    ],
)
def test_java_double(value: float, text: str) -> None:
    assert java_double(value) == text


def test_to_json_text_and_to_java_string() -> None:
    value = {"a": [1, 2.5, {"b": None}], "c": "x/y", "d": True}
    assert to_json_text(value) == '{"a":[1,2.5,{"b":null}],"c":"x\\/y","d":true}'
    assert to_java_string(value) == '{a=[1,2.5,{"b":null}], c=x/y, d=true}'
    assert to_java_string({"a": {"b": 1.0}}) == "{a={b=1.0}}"
    assert to_java_string(None) == "null"


# --------------------------------------------------------------------------------------------------------------------
# template_variables


def test_template_variables() -> None:
    context = {"requestOverride": {"header": {}, "path": {}, "querystring": {}}, "responseOverride": {"header": {}}}
    variables = template_variables(b'{"a": 1}', PARAMS, context, {"stage": "dev"})
    assert list(variables) == ["input", "util", "context", "stageVariables"]
    assert isinstance(variables["input"], InputVariable)
    assert variables["util"] is UTIL
    assert variables["context"] is context  # passed through: templates write the overrides into it
    assert variables["stageVariables"] == {"stage": "dev"}
    assert call(variables["input"], "path", "$.a") == 1
    assert call(variables["input"], "params", "id") == "42"
    # Spec §4.5: no stage variables behave like an empty map.
    assert template_variables(b"", NO_PARAMS, {}, None)["stageVariables"] == {}
