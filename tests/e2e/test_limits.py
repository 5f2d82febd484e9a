"""Limits: a body over 10 MB is refused with AWS's 413 gateway response; just under it passes."""

from __future__ import annotations

from pathlib import Path

API = """openapi: 3.0.1
info: {title: Limits}
paths:
  /upload:
    post:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200", responseTemplates: {application/json: '{"ok": true}'}}}
"""


def test_request_too_large(serve, tmp_path: Path) -> None:
    (tmp_path / "api.yaml").write_text(API)
    server = serve(tmp_path / "api.yaml")
    api = server.api_ids["Limits"]
    too_big = server.call("POST", api, "dev", "/upload", body=b"x" * (10 * 1024 * 1024 + 1), timeout=30)
    assert too_big.status == 413
    assert too_big.json() == {"message": "Request Too Long"}
    assert too_big.header("x-amzn-RequestId")
    fits = server.call("POST", api, "dev", "/upload", body=b"x" * (10 * 1024 * 1024), timeout=30)
    assert fits.status == 200 and fits.json() == {"ok": True}
