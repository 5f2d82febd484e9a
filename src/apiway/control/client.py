"""`apiway import / export / deploy / apis`: the control-plane calls a user makes most, from the
shell, against a running apiway (botocore's own client, so the wire format is exactly boto3's)."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from apiway import EXIT_BAD_INPUT
from apiway.front.admin import KEY_ENV, SECRET_ENV
from apiway.model.documents import load_document
from apiway.openapi.importer import import_openapi

DEFAULT_ENDPOINT = "http://127.0.0.1:8080"
# Admin credentials: the server requires SigV4 with them when set; the commands sign with them.
EXIT_FAILED = 1


def _client(endpoint: str) -> Any:
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    return session.create_client(
        "apigateway", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=os.environ.get(KEY_ENV, "apiway"), aws_secret_access_key=os.environ.get(SECRET_ENV, "apiway"),
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60),
    )


def _call(endpoint: str, fn: str, **kwargs: Any) -> Any:
    """One call; failures become a one-line message and an exit code instead of a traceback."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    try:
        return getattr(_client(endpoint), fn)(**kwargs)
    except EndpointConnectionError:
        raise CommandFailed(f"no apiway at {endpoint} (start one with `apiway serve`, or pass --endpoint)") from None
    except ClientError as exc:
        err = exc.response.get("Error", {})
        raise CommandFailed(f"{err.get('Code')}: {err.get('Message')}") from None


class CommandFailed(Exception):
    pass


def _run(action: Any) -> int:
    try:
        action()
    except CommandFailed as exc:
        print(f"apiway: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def import_api(endpoint: str, file: Path, api_id: str | None, mode: str, fail_on_warnings: bool) -> int:
    # Checked here first so a mistake is reported with this file's name, line and field.
    doc, text = load_document(file)
    definition = import_openapi(doc, text, str(file))
    if not definition["resources"]:
        print(f"apiway: {file}: no paths to import", file=sys.stderr)
        return EXIT_BAD_INPUT

    def action() -> None:
        size = len(text.encode()) / 1024
        print(f"importing {file} ({size:.0f} KB, {len(definition['resources'])} resources)…", file=sys.stderr)
        if api_id:
            api = _call(endpoint, "put_rest_api", restApiId=api_id, mode=mode, body=text.encode(),
                        failOnWarnings=fail_on_warnings)
        else:
            api = _call(endpoint, "import_rest_api", body=text.encode(), failOnWarnings=fail_on_warnings)
        print(f"{api['id']}  {api['name']}")
        for warning in api.get("warnings") or []:
            print(f"  warning: {warning}", file=sys.stderr)

    return _run(action)


def export_api(endpoint: str, api_id: str, stage: str, export_type: str, fmt: str, extensions: str,
               output: Path | None) -> int:
    def action() -> None:
        accept = "application/yaml" if fmt == "yaml" else "application/json"
        params = {"extensions": extensions} if extensions else {}
        result = _call(endpoint, "get_export", restApiId=api_id, stageName=stage, exportType=export_type,
                       accepts=accept, parameters=params)
        body = result["body"].read()
        if output is None:
            sys.stdout.buffer.write(body)
        else:
            output.write_bytes(body)
            print(f"wrote {output} ({len(body)} bytes)", file=sys.stderr)

    return _run(action)


def deploy_api(endpoint: str, api_id: str, stage: str, description: str | None) -> int:
    def action() -> None:
        kwargs = {"description": description} if description else {}
        deployment = _call(endpoint, "create_deployment", restApiId=api_id, stageName=stage, **kwargs)
        host = endpoint.split("://", 1)[-1].replace("127.0.0.1", "localhost")
        print(f"deployment {deployment['id']} → stage {stage}")
        print(f"  http://{api_id}.execute-api.{host}/{stage}")

    return _run(action)


def list_apis(endpoint: str) -> int:
    def action() -> None:
        apis: list[dict[str, Any]] = []
        position = None
        while True:
            page = _call(endpoint, "get_rest_apis", limit=500, **({"position": position} if position else {}))
            apis += page.get("items", [])
            position = page.get("position")
            if not position:
                break
        rows = [("ID", "NAME", "CREATED", "STAGES")]
        for api in apis:
            stages = _call(endpoint, "get_stages", restApiId=api["id"]).get("item", [])
            created = api["createdDate"]
            when = created.strftime("%Y-%m-%d %H:%M") if isinstance(created, datetime) else str(created)
            rows.append((api["id"], api["name"], when, ",".join(s["stageName"] for s in stages) or "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for row in rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if not apis:
            print("(no APIs)")

    return _run(action)


def download_sdk(endpoint: str, api_id: str, stage: str, sdk_type: str, out: Path) -> int:
    """GetSdk, its archive unpacked into `out` (without the archive's top folder)."""
    import zipfile

    from apiway.sdk.archive import UnsafeArchive, unpack

    def action() -> None:
        body = _call(endpoint, "get_sdk", restApiId=api_id, stageName=stage, sdkType=sdk_type)["body"].read()
        try:
            written = unpack(body, out)
        except (zipfile.BadZipFile, UnsafeArchive) as exc:
            raise CommandFailed(f"GetSdk answered something that is not an SDK archive: {exc}") from None
        except OSError as exc:
            raise CommandFailed(f"cannot write {out}: {exc.strerror or exc}") from None
        print(f"{sdk_type} SDK of {api_id} ({stage}): {len(written)} files in {out}", file=sys.stderr)
        for path in written:
            print(path)

    return _run(action)
