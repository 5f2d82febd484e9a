"""A mapping template whose #define blocks double at every level cannot freeze or exhaust the gateway: the request fails fast with AWS's 500 `Internal server error`, memory stays bounded and the
gateway keeps serving."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.support import Server


def doubling_defines(levels: int) -> str:
    blocks = "#define($a0)xx#end " + " ".join(f"#define($a{i})$a{i - 1}$a{i - 1}#end" for i in range(1, levels + 1))
    return f"{blocks} $a{levels}"


def api(templates: dict[str, str]) -> str:
    paths = {}
    for path, template in {**templates, "/ok": '{"ok": true}'}.items():
        paths[path] = {"get": {"x-amazon-apigateway-integration": {
            "type": "mock", "requestTemplates": {"application/json": '{"statusCode": 200}'},
            "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": template}}}}}}
    return json.dumps({"openapi": "3.0.1", "info": {"title": "Expansion"}, "paths": paths})


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_doubling_templates_fail_fast_with_bounded_memory(serve, tmp_path: Path) -> None:
    wide = doubling_defines(30).replace("xx", "x" * 5000)  # reaches the output cap within a few levels
    (tmp_path / "api.json").write_text(api({"/defines": doubling_defines(30), "/wide": wide}))
    server: Server = serve(tmp_path / "api.json")
    api_id = server.api_ids["Expansion"]
    assert server.call("GET", api_id, "dev", "/ok").status == 200
    before = rss_kb(server.proc.pid)
    for path in ("/defines", "/wide", "/defines"):
        start = time.monotonic()
        reply = server.call("GET", api_id, "dev", path, timeout=30)
        assert reply.status == 500 and reply.json() == {"message": "Internal server error"}, reply.body
        assert time.monotonic() - start < 5
    assert rss_kb(server.proc.pid) - before < 200_000  # kilobytes: the output cap is a million characters
    ok = server.call("GET", api_id, "dev", "/ok")
    assert ok.status == 200 and ok.json() == {"ok": True}
