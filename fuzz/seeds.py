"""Seed inputs for the fuzz targets, taken from the project's own robustness material: the seeded generators and
reproducers of tests/e2e/test_robustness.py, the hostile documents of tests/e2e/test_hostile_documents.py, the
template cases of tests/unit/test_vtl_engine.py and tests/conformance/vtl_cases.yaml, the JSONPath tests, the
OpenAPI import tests, the SigV4 cases of tests/e2e/test_iam_auth.py, examples/ and tests/e2e/fixtures/.

    .venv/bin/python -m fuzz.seeds [TARGET ...]     # writes fuzz/corpus/<target>/ (generated, git-ignored)

`seeds(target)` gives every seed of a target by name; `hostile(target)` the subset that is hostile on purpose
(malformed, oversized, deeply nested, signed wrongly), which tests/unit/test_fuzz_regressions.py replays through
the targets in the ordinary test run. Everything is deterministic: the generators are seeded."""

from __future__ import annotations

import ast
import hashlib
import random
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import yaml

from fuzz.common import join
from fuzz.targets import TARGETS

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "fuzz" / "corpus"
HOSTILE = "hostile-"  # seed names starting with this are replayed by the regression tests


def _strings(path: Path) -> list[str]:
    """Every string constant in a Python file, in order."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def _robustness() -> Any:
    from tests.e2e import test_robustness

    return test_robustness


# -- http ------------------------------------------------------------------------------------------------------------

def _http() -> dict[str, bytes]:
    from fuzz.targets.http import API_ID, API_KEY_VALUE

    robustness = _robustness()
    host = f"{API_ID}.execute-api.localhost"
    out: dict[str, bytes] = {}
    rng = random.Random(robustness.SEED)
    for n in range(150):
        out[f"robustness-request-{n}"] = robustness.random_request(rng, 80, API_ID)[1]
    rng = random.Random(robustness.SEED)
    for n in range(60):
        raw = robustness.malformed_request(rng, host)
        if len(raw) > 32_768:  # the over-long head case: kept at a size the fuzzer takes
            raw = raw[:20_000] + b"\r\n\r\n"
        out[f"{HOSTILE}robustness-malformed-{n}"] = raw

    def request(method: str, target: str, headers: Iterable[tuple[str, str]] = (), body: bytes = b"",
                host_header: str = host) -> bytes:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host_header}", *(f"{k}: {v}" for k, v in headers)]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    item = orjson.dumps({"name": "rex", "count": 3, "price": 9.5, "tags": ["a", "b"],
                         "owner": {"id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}})
    key = [("x-api-key", API_KEY_VALUE), ("Content-Type", "application/json")]
    out.update({
        "ok": request("GET", "/dev/ok"),
        "ok-path-style": request("GET", f"/restapis/{API_ID}/dev/_user_request_/ok", host_header="localhost"),
        "item-get": request("GET", "/dev/items/42", [("X-Trace", "t-1")]),
        "item-put": request("PUT", "/dev/items/42?mode=fast", key, item),
        "item-put-404": request("PUT", "/dev/items/42?mode=fast", key, orjson.dumps({"name": "rex", "count": 404})),
        "item-put-no-key": request("PUT", "/dev/items/42?mode=x", [("Content-Type", "application/json")], item),
        "item-put-invalid": request("PUT", "/dev/items/42?mode=x", key, b'{"name": "Rex!", "tags": ["z"]}'),
        "echo": request("POST", "/dev/echo/one/t%C3%A9?q=hello&status=201", [("Content-Type", "application/json")],
                        b'{"a": [1, 2, 3]}'),
        "echo-form": request("PUT", "/dev/echo/x/y?q=1", [("Content-Type", "application/x-www-form-urlencoded")],
                             b"a=1&b=%20"),
        "echo-text": request("PATCH", "/dev/echo/x/y", [("Content-Type", "text/plain")], "é日本".encode()),
        "binary": request("POST", "/dev/binary", [("Content-Type", "application/octet-stream"),
                                                  ("Accept", "application/octet-stream")], bytes(range(256))),
        "admin-unsigned": request("GET", "/dev/admin"),
        "proxy": request("DELETE", "/dev/a/b/c?x=1&x=2", [("Content-Type", "application/json")], b'{"status": 404}'),
        "proxy-head": request("HEAD", "/dev/anything"),
        "proxy-options": request("OPTIONS", "/dev/anything", [("Origin", "https://example.com")]),
        "unknown-stage": request("GET", "/nostage/ok"),
        "unknown-api": request("GET", "/dev/ok", host_header="nosuchapi.execute-api.localhost"),
        "no-api": request("GET", "/", host_header="localhost"),
        "invoke-api": request("POST", "/2015-03-31/functions/Nope/invocations", body=b"{}", host_header="localhost"),
        "pipelined": request("GET", "/dev/ok") + request("GET", "/dev/items/1") + request("POST", "/dev/x", body=b"{}"),
        "absolute-form": f"GET http://{host}/dev/ok?x=1 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode(),
        "http10": b"GET /dev/ok HTTP/1.0\r\nHost: " + host.encode() + b"\r\n\r\n",
        "expect-continue": request("PUT", "/dev/items/1?mode=x", [*key, ("Expect", "100-continue")], item),
        "chunked": request("POST", "/dev/echo/a/b", [("Transfer-Encoding", "chunked")])
        + b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n",
        "upgrade": request("GET", "/dev/ok", [("Connection", "Upgrade"), ("Upgrade", "websocket")]),
        f"{HOSTILE}too-large": request("POST", "/dev/echo/a/b", [("Content-Length", str(11 * 1024 * 1024))]),
        f"{HOSTILE}head-too-large": request("GET", "/dev/ok", [("X-Big", "a" * 12_000)]),
        f"{HOSTILE}bad-chunk": request("POST", "/dev/ok", [("Transfer-Encoding", "chunked")]) + b"zz\r\nabc\r\n",
        f"{HOSTILE}two-lengths": b"POST /dev/ok HTTP/1.1\r\nHost: " + host.encode()
        + b"\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        f"{HOSTILE}garbage": bytes(range(256)),
    })
    return out


# -- vtl -------------------------------------------------------------------------------------------------------------

_BODY = b'{"name": "Rex", "tags": ["a", "b"], "n": 3, "nested": {"x": [1, 2, {"y": null}]}, "price": 9.5}'


def _vtl_literal(value: Any) -> str | None:
    """A template value as VTL source, for the values the engine tests pass in."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list):
        items = [_vtl_literal(item) for item in value]
        return None if None in items else "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
    if isinstance(value, dict):
        pairs = [(_vtl_literal(k), _vtl_literal(v)) for k, v in value.items()]
        if any(k is None or v is None for k, v in pairs):
            return None
        return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    return None


def _with_variables(template: str, variables: Any) -> str:
    sets = []
    for name, value in variables.items():
        literal = _vtl_literal(value)
        if literal is not None:
            sets.append(f"#set(${name} = {literal})")
    return "".join(sets) + template


def _vtl() -> dict[str, bytes]:
    from tests.unit import test_vtl_engine as engine

    out: dict[str, bytes] = {}
    cases = yaml.safe_load((REPO / "tests/conformance/vtl_cases.yaml").read_text(encoding="utf-8"))["cases"]
    for case in cases:
        params = case.get("params") or {}
        body = case.get("body")
        query = urlencode(params.get("querystring") or {})
        path = next(iter((params.get("path") or {}).values()), "")
        header = next(iter((params.get("header") or {}).values()), "")
        name = ("hostile-" if case.get("expected_error") else "") + f"conformance-{case['id']}"
        out[name] = join(case["template"], body if isinstance(body, str) else "", query, str(path), str(header))
    for name, template, variables, _ in [*engine.CASES, *engine.VELOCITY_NULLS]:
        out[f"engine-{name}"] = join(_with_variables(template, variables), _BODY, "q=x%20y&n=3", "7", "v")
    for n, (template, *_rest) in enumerate(engine.SYNTAX_ERRORS):
        out[f"{HOSTILE}engine-syntax-{n}"] = join(template)
    for n, (template, variables, _message) in enumerate(engine.RUNTIME_ERRORS):
        out[f"{HOSTILE}engine-runtime-{n}"] = join(_with_variables(template, variables), _BODY)
    limits = {
        "doubling-defines": engine._doubling_defines("xx", 30),
        "doubling-macros": engine._doubling_macros("xx", 30),
        "wide-defines": engine._doubling_defines("x" * 1000, 12),
        "nested-loops": "#foreach($i in [1..1000])#foreach($j in [1..1000])xxxxxxxxxx#end#end",
        "triple-loops": "#foreach($i in [1..1000])#foreach($j in [1..1000])#foreach($k in [1..1000])#end#end#end",
        "string-doubling": '#set($s = "xxxxxxxxxx")#foreach($i in [1..30])#set($s = "$s$s")#end',
        "list-doubling": "#set($l = [1])#foreach($i in [1..40])#set($x = $l.addAll($l))#end",
        "huge-range": "#set($r = [1..100000000])",
        "macro-recursion": "#macro(r)#r()#end#r()",
        "define-recursion": "#define($a)$a#end$a",
        "deep-parens": "#set($x = " + "(" * 300 + "1" + ")" * 300 + ")",
        "deep-ifs": "#if(true)" * 200 + "y" + "#end" * 200,
        "runaway-regex": "$input.params('q').matches('(a|aa)+b')",
        "deep-attribute": "$a" + ".b" * 300,
    }
    for name, template in limits.items():
        out[f"{HOSTILE}limit-{name}"] = join(template, _BODY, "q=" + "a" * 40 + "!")
    rng = random.Random(_robustness().SEED)
    templates = _robustness().vtl_templates()
    for n in range(100):
        source = _robustness().mutate_text(rng, rng.choice(templates), _robustness().VTL_TOKENS)
        out[f"{HOSTILE}robustness-mutant-{n}"] = join(source, _BODY, "q=x", "7")
    return out


# -- jsonpath --------------------------------------------------------------------------------------------------------

def _jsonpath() -> dict[str, bytes]:
    from tests.unit import test_vtl_jsonpath as tests

    out: dict[str, bytes] = {}
    store = orjson.dumps(tests.BOOKSTORE)
    expressions = sorted({s for s in _strings(REPO / "tests/unit/test_vtl_jsonpath.py")
                          if s.strip()[:1] in ("$", "@") and "\n" not in s})
    for n, expression in enumerate(expressions):
        out[f"tests-{n}"] = join(expression, store)
    syntax = _syntax_error_expressions(REPO / "tests/unit/test_vtl_jsonpath.py")
    for n, expression in enumerate(syntax):
        out[f"{HOSTILE}syntax-{n}"] = join(expression, store)
    cases = yaml.safe_load((REPO / "tests/conformance/vtl_cases.yaml").read_text(encoding="utf-8"))["cases"]
    found = re.compile(r"\$input\.(?:path|json)\('([^']*)'\)")
    for case in cases:
        body = case.get("body")
        for n, expression in enumerate(found.findall(case["template"])):
            out[f"conformance-{case['id']}-{n}"] = join(expression, body if isinstance(body, str) else _BODY)
    deep = "[" * 1000 + "1" + "]" * 1000
    out.update({
        f"{HOSTILE}regex-bomb": join("$[?(@.a =~ /(a|aa)+b/)]", orjson.dumps([{"a": "a" * 40 + "!"}])),
        f"{HOSTILE}deep-scan": join("$..*", deep),
        f"{HOSTILE}huge-number": join("$[?(@.a == 1e999999999)]", b'[{"a": 1}]'),
        f"{HOSTILE}big-stddev": join("$.stddev()", b"[1e200, -1e200]"),
        f"{HOSTILE}not-json": join("$.a", b"{not json"),
        f"{HOSTILE}unicode-digits": join("$[\u0661]", b"[1, 2]"),
    })
    return out


def _syntax_error_expressions(path: Path) -> list[str]:
    """The parametrized expressions of the JSONPath syntax-error test."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "test_syntax_errors":
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and len(decorator.args) == 2:
                    return list(ast.literal_eval(decorator.args[1]))
    return []


# -- openapi ---------------------------------------------------------------------------------------------------------

def _openapi() -> dict[str, bytes]:
    robustness = _robustness()
    from tests.e2e import test_hostile_documents as hostile

    out: dict[str, bytes] = {}
    documents = [*REPO.glob("examples/*/*.yaml"), *REPO.glob("tests/e2e/fixtures/**/*.yaml"),
                 *REPO.glob("tests/unit/fixtures/*.yaml"), REPO / "fuzz/api/api.yaml"]
    for path in sorted(documents):
        text = path.read_text(encoding="utf-8")
        if "openapi" in text or "swagger" in text:
            out[f"file-{path.relative_to(REPO).as_posix().replace('/', '_')}"] = text.encode()
    inline = [s for s in _strings(REPO / "tests/unit/test_openapi_import.py") if re.search(r"openapi|swagger", s)
              and ("paths" in s or "info" in s)]
    for n, text in enumerate(inline):
        out[f"import-test-{n}"] = text.encode()
    for name, text in robustness.IMPORTER_REPRODUCERS.items():
        out[f"{HOSTILE}reproducer-{name}"] = text.encode()
    out[f"{HOSTILE}laughs"] = hostile.laughs().encode()
    out[f"{HOSTILE}deep-yaml"] = hostile.deep_yaml(5000).encode()
    out[f"{HOSTILE}deep-json"] = b"[" * 10_000
    out[f"{HOSTILE}deep-json-parsed"] = b'{"openapi": "3.0.1", "x": ' + b"[" * 200 + b"]" * 200 + b"}"
    out["large-json"] = hostile.large_document(60)
    petstore = (REPO / "examples/petstore/petstore.yaml").read_text(encoding="utf-8")
    base = yaml.safe_load(petstore)
    rng = random.Random(robustness.SEED)
    for n in range(80):
        doc = robustness.mutate_document(rng, base)
        try:
            text = yaml.safe_dump(doc)
        except yaml.YAMLError:
            continue
        out[f"{HOSTILE}robustness-mutant-{n}"] = text.encode()
    tokens = (":", "- ", "  ", "\n", "{", "}", "[", "]", "&a", "*a", "!!", "'", '"', "#", "?", "|", ">", "%",
              "2001-13-45", "\t", "\x00", "\ufeff")
    rng = random.Random(robustness.SEED)
    for n in range(40):
        out[f"{HOSTILE}robustness-corrupt-{n}"] = robustness.mutate_text(rng, petstore, tokens).encode(
            "utf-8", "surrogatepass")
    out[f"{HOSTILE}not-utf8"] = b"openapi: 3.0.1\ninfo: {title: \xff\xfe}\n"
    return out


# -- sigv4 -----------------------------------------------------------------------------------------------------------

def _sigv4() -> dict[str, bytes]:
    from fuzz.targets.sigv4 import KEY, NOW, _botocore_signed, parse

    def text(req: Any) -> bytes:
        target = req.path + (f"?{req.query}" if req.query else "")
        head = "\n".join([f"{req.method} {target}", *(f"{k}: {v}" for k, v in req.headers)])
        return (head + "\n\n").encode("latin-1") + req.body

    def signed(raw: str, presign: bool = False, body: bytes = b"") -> Any:
        req = _botocore_signed(parse(raw.encode("latin-1") + b"\n\n" + body), presign)
        assert req is not None, raw
        return req

    host = "Host: fuzzhttp01.execute-api.localhost"
    out: dict[str, bytes] = {}
    requests = {
        "get": f"GET /whoami\n{host}",
        "post-query": f"POST /whoami?b=2&a=1&a=0&empty=&sp=a%20b\n{host}\nContent-Type: application/json",
        "path-style": "GET /restapis/fuzzhttp01/dev/_user_request_/whoami\nHost: localhost:8080",
        "escaped-path": f"GET /a%20b/c~d/%C3%A9\n{host}",
        "headers": f"PUT /x\n{host}\nX-Custom: one  two\nX-Custom: three\nX-Amz-Security-Token: tok",
    }
    for name, raw in requests.items():
        body = b'{"amount": 10}' if raw.startswith(("POST", "PUT")) else b""
        header = signed(raw, body=body)
        out[f"signed-{name}"] = text(header)
        out[f"presigned-{name}"] = text(signed(raw, presign=True))
        out[f"sign-{name}"] = b"~" + raw.encode("latin-1") + b"\n\n" + body
        out[f"presign-{name}"] = b"?" + raw.encode("latin-1") + b"\n\n"
    good = text(signed(requests["post-query"], body=b'{"amount": 10}'))
    credential = f"{KEY}/{NOW:%Y%m%d}/us-east-1/execute-api/aws4_request"
    date = f"X-Amz-Date: {NOW:%Y%m%dT%H%M%SZ}"
    hostile_headers = {
        "bearer": "Bearer abc.def",
        "bare-token": "eyJhbGciOi.eyJzdWIi.sig",
        "algorithm-only": "AWS4-HMAC-SHA256",
        "no-signature": f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host",
        "short-scope": f"AWS4-HMAC-SHA256 Credential={KEY}/x, SignedHeaders=host, Signature=00",
        "other-region": "AWS4-HMAC-SHA256 Credential=" + credential.replace("us-east-1", "eu-west-1")
        + ", SignedHeaders=host;x-amz-date, Signature=00",
        "unknown-key": "AWS4-HMAC-SHA256 Credential=" + credential.replace(KEY, "AKIAUNKNOWN000000000")
        + ", SignedHeaders=host;x-amz-date, Signature=00",
        "no-host-signed": f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=x-amz-date, Signature=00",
        "empty-pairs": "AWS4-HMAC-SHA256 ,,, =, Credential=",
    }
    for name, value in hostile_headers.items():
        out[f"{HOSTILE}header-{name}"] = f"GET /whoami\n{host}\n{date}\nAuthorization: {value}\n\n".encode("latin-1")
    dates = {"old": "20251125T060000Z", "future": "20351125T073000Z", "month-13": "20251325T073000Z",
             "short": "2025112T073000Z", "unicode-digits": "2025112\u00b2T073000Z", "year-0": "00000101T000000Z"}
    for name, value in dates.items():
        out[f"{HOSTILE}date-{name}"] = good.replace(f"{NOW:%Y%m%dT%H%M%SZ}".encode(), value.encode("latin-1"))
    out[f"{HOSTILE}date-header-only"] = good.replace(b"X-Amz-Date:", b"Date:")
    out[f"{HOSTILE}tampered-body"] = good.replace(b'{"amount": 10}', b'{"amount": 99}')
    presigned = text(signed(requests["get"], presign=True))
    for name, expires in {"negative": "-1", "huge": "1000000000", "word": "soon", "week": "604800",
                          "unicode": "\u0661\u0662"}.items():
        out[f"{HOSTILE}expires-{name}"] = re.sub(rb"X-Amz-Expires=\d+", b"X-Amz-Expires="
                                                 + expires.encode("latin-1", "replace"), presigned)
    out[f"{HOSTILE}presigned-missing"] = f"GET /whoami?X-Amz-Signature=00\n{host}\n\n".encode()
    out[f"{HOSTILE}presigned-escapes"] = f"GET /whoami?X-Amz-Credential=%ZZ&X-Amz-Signature=%\n{host}\n\n".encode()
    return out


GENERATORS: dict[str, Callable[[], dict[str, bytes]]] = {
    "http": _http, "vtl": _vtl, "jsonpath": _jsonpath, "openapi": _openapi, "sigv4": _sigv4,
}


def seeds(target: str) -> dict[str, bytes]:
    return GENERATORS[target]()


def hostile(target: str) -> dict[str, bytes]:
    return {name: data for name, data in seeds(target).items() if name.startswith(HOSTILE)}


def write(target: str) -> int:
    """Write the target's seeds, and the inputs kept in fuzz/crashers/<target>/, into fuzz/corpus/<target>/ (files
    named by content, so rewriting adds nothing); the number written."""
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    found = seeds(target)
    for crasher in sorted((REPO / "fuzz" / "crashers" / target).glob("*")):  # what earlier runs found
        found[f"crasher-{crasher.name}"] = crasher.read_bytes()
    for name, data in found.items():
        digest = hashlib.sha1(data).hexdigest()[:12]
        (folder / f"seed-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)[:80]}-{digest}").write_bytes(data)
    return len(found)


def main(argv: list[str]) -> None:
    for target in argv or TARGETS:
        print(f"{target}: {write(target)} seeds in {(CORPUS / target).relative_to(REPO)}")


if __name__ == "__main__":
    main(sys.argv[1:])
