"""The functions Lambda's control plane creates: their code, configuration, numbered versions, aliases and
resource policy, kept under the state directory (`functions/{name}/`), so they survive a restart and every
worker process of the server sees the same ones.

A function's directory holds `function.json` (its record) and one folder per code package (`code/{n}/`, the
zip unpacked). `$LATEST` names the newest package; a published version names the package it was published from,
which no later update touches (a new upload gets a new folder), so a version is immutable. The record is
rewritten whole (to a temporary file, then renamed): a reader sees the old record or the new one.

Each runnable version is loaded into the worker runner under a key: the function's name for `$LATEST`,
`name:N` for version N. `resolve` turns a qualified name (`name`, `name:$LATEST`, `name:N`, `name:alias`) into
that key; aliases are read when a request is served, so moving an alias moves its callers at once."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import shutil
import stat
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from apiway.functions.base import FunctionSpec
from apiway.model.aws import ACCOUNT_ID, REGION

__all__ = ["Catalog", "LambdaError", "function_arn"]

LATEST = "$LATEST"
NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ALIAS = re.compile(r"^(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}$")
MAX_ZIP = 50 * 1024 * 1024  # Lambda's quota for a zip uploaded directly
MAX_UNZIPPED = 250 * 1024 * 1024  # and for the unpacked package
RUNTIMES = ("python3.", "nodejs", "provided")  # what the worker runner runs: apiway's Python and Node.js runtimes, or
# a bootstrap
DEFAULTS: dict[str, Any] = {"Timeout": 3, "MemorySize": 128, "Description": ""}


class LambdaError(Exception):
    """An error as Lambda's control plane answers it (status, `x-amzn-ErrorType`, message)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def function_arn(name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def not_found(name: str, qualifier: str | None = None) -> LambdaError:
    return LambdaError(404, "ResourceNotFoundException", f"Function not found: {function_arn(name, qualifier)}")


def invalid(message: str) -> LambdaError:
    return LambdaError(400, "InvalidParameterValueException", message)


def validation(value: Any, field: str, constraint: str) -> LambdaError:
    return LambdaError(400, "ValidationException", f"1 validation error detected: Value '{value}' at '{field}' "
                                                   f"failed to satisfy constraint: {constraint}")


@dataclass(slots=True)
class _Loaded:
    version: tuple[int, int, int]  # function.json's inode, mtime and size when it was read
    record: dict[str, Any]


class Catalog:
    """The functions on disk, and their runnable versions loaded through `load` (the worker runner's)."""

    def __init__(self, root: Path, load: Callable[[FunctionSpec], None]) -> None:
        self.root = root
        self._load = load
        self._loaded: dict[str, _Loaded] = {}
        self._specs: dict[str, FunctionSpec] = {}  # by runner key: what was last loaded
        root.mkdir(parents=True, exist_ok=True)
        for entry in sorted(root.iterdir()):
            if (entry / "function.json").is_file():
                self.record(entry.name)

    # -- reading

    def names(self) -> list[str]:
        return sorted(entry.name for entry in self.root.iterdir() if (entry / "function.json").is_file())

    def record(self, name: str) -> dict[str, Any] | None:
        """The function's record as stored now (re-read when another process changed it), else None."""
        if not NAME.match(name):
            return None
        path = self.root / name / "function.json"
        try:
            found = path.stat()
        except OSError:
            self._forget(name)
            return None
        version = (found.st_ino, found.st_mtime_ns, found.st_size)  # each write is a new file (a rename)
        loaded = self._loaded.get(name)
        if loaded is None or loaded.version != version:
            try:
                record = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                return loaded.record if loaded is not None else None
            loaded = self._loaded[name] = _Loaded(version, record)
            self._load_versions(name, record)
        return loaded.record

    def has(self, name: str) -> bool:
        """Whether the function exists: only a look at the disk, so that compiling a stage (in whatever thread)
        loads nothing into the runner, which belongs to the loop's thread."""
        return bool(NAME.match(name)) and (self.root / name / "function.json").is_file()

    def resolve(self, name: str, qualifier: str | None) -> str | None:
        """The runner key of `name` at `qualifier` (none, `$LATEST`, a version or an alias), else None."""
        record = self.record(name)
        if record is None:
            return None
        version = self._version_of(record, qualifier)
        if version is None:
            return None
        return name if version == LATEST else f"{name}:{version}"

    def version(self, name: str, qualifier: str | None) -> str | None:
        """The version (`$LATEST` or a number) `qualifier` names, else None."""
        record = self.record(name)
        return None if record is None else self._version_of(record, qualifier)

    def configuration(self, name: str, qualifier: str | None = None) -> dict[str, Any]:
        record = self._require(name, qualifier)
        version = self._version_of(record, qualifier)
        if version is None:
            raise not_found(name, qualifier)
        return _public(record["latest"] if version == LATEST else record["versions"][version])

    def code_location(self, name: str, qualifier: str | None = None) -> Path:
        record = self._require(name, qualifier)
        version = self._version_of(record, qualifier)
        if version is None:
            raise not_found(name, qualifier)
        config = record["latest"] if version == LATEST else record["versions"][version]
        return self.root / name / config["_code"]

    def versions(self, name: str) -> list[dict[str, Any]]:
        record = self._require(name)
        return [_public(record["latest"])] + [_public(record["versions"][v])
                                              for v in sorted(record["versions"], key=int)]

    def aliases(self, name: str, version: str | None = None) -> list[dict[str, Any]]:
        record = self._require(name)
        return [dict(alias) for _, alias in sorted(record["aliases"].items())
                if version is None or alias["FunctionVersion"] == version]

    def alias(self, name: str, alias: str) -> dict[str, Any]:
        record = self._require(name)
        found = record["aliases"].get(alias)
        if found is None:
            raise LambdaError(404, "ResourceNotFoundException", f"Cannot find alias arn: {function_arn(name, alias)}")
        return dict(found)

    def policy(self, name: str, qualifier: str | None = None) -> tuple[dict[str, Any], str]:
        record = self._require(name, qualifier)
        statements = record["policy"].get(qualifier or LATEST, [])
        if not statements:
            raise LambdaError(404, "ResourceNotFoundException", "The resource you requested does not exist.")
        document = {"Version": "2012-10-17", "Id": "default", "Statement": statements}
        return document, record["latest"]["RevisionId"]

    # -- changing

    def create(self, params: dict[str, Any], taken: Callable[[str], bool]) -> dict[str, Any]:
        name = _name(params.get("FunctionName"))
        if taken(name) or self.has(name):
            raise LambdaError(409, "ResourceConflictException", f"Function already exist: {name}")
        if params.get("PackageType", "Zip") != "Zip":
            raise invalid("Only the Zip package type is supported by this gateway")
        code = params.get("Code") or {}
        if not isinstance(code, dict) or "ZipFile" not in code:
            raise invalid("Code.ZipFile is required: this gateway takes the zip in the request (not from S3 or an "
                          "image)")
        if not params.get("Role"):
            raise validation(None, "role", "Member must not be null")
        config = _settings({"FunctionName": name, **DEFAULTS}, params, creating=True)
        record: dict[str, Any] = {"latest": config, "versions": {}, "aliases": {}, "policy": {}, "packages": 0}
        (self.root / name).mkdir(parents=True, exist_ok=True)
        try:
            self._new_package(record, name, code["ZipFile"])
        except LambdaError:
            shutil.rmtree(self.root / name, ignore_errors=True)
            raise
        if params.get("Publish"):
            self._publish(record, name, "")
        self._write(name, record)
        return _public(record["latest"] if not params.get("Publish") else record["versions"][str(record["last"])])

    def update_code(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        record = self._require(name)
        self._check_revision(record, params)
        if "ZipFile" not in params:
            raise invalid("ZipFile is required: this gateway takes the zip in the request (not from S3 or an "
                          "image)")
        old = record["latest"]["_code"]
        self._new_package(record, name, params["ZipFile"])
        if not _used(record, old):
            shutil.rmtree(self.root / name / old, ignore_errors=True)
        published = self._publish(record, name, "") if params.get("Publish") else None
        self._write(name, record)
        return _public(record["versions"][published] if published else record["latest"])

    def update_configuration(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        record = self._require(name)
        self._check_revision(record, params)
        record["latest"] = _settings(dict(record["latest"]), params, creating=False)
        _touch(record["latest"])
        self._write(name, record)
        return _public(record["latest"])

    def publish(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        record = self._require(name)
        self._check_revision(record, params)
        sha = params.get("CodeSha256")
        if sha and sha != record["latest"]["CodeSha256"]:
            raise invalid(f"CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST "
                          f"({record['latest']['CodeSha256']}). Please try again with the CodeSHA256 in $LATEST.")
        version = self._publish(record, name, params.get("Description", ""))
        self._write(name, record)
        return _public(record["versions"][version])

    def delete(self, name: str, qualifier: str | None) -> None:
        record = self._require(name)
        if qualifier is None:
            shutil.rmtree(self.root / name, ignore_errors=True)
            self._forget(name)
            return
        if qualifier == LATEST:
            raise invalid("$LATEST version cannot be deleted without deleting the function.")
        if qualifier not in record["versions"]:
            raise not_found(name, qualifier)
        users = sorted(a for a, alias in record["aliases"].items() if alias["FunctionVersion"] == qualifier)
        if users:
            raise LambdaError(409, "ResourceConflictException", f"Unable to delete version because the following "
                                                               f"aliases reference it: [{', '.join(users)}]")
        code = record["versions"].pop(qualifier)["_code"]
        record["policy"].pop(qualifier, None)
        if not _used(record, code):
            shutil.rmtree(self.root / name / code, ignore_errors=True)
        self._write(name, record)

    def put_alias(self, name: str, alias: str, params: dict[str, Any], creating: bool) -> dict[str, Any]:
        record = self._require(name)
        if not ALIAS.match(alias or ""):
            raise validation(alias, "name", "Member must satisfy regular expression pattern: "
                                            "(?!^[0-9]+$)([a-zA-Z0-9-_]+)")
        existing = record["aliases"].get(alias)
        if creating and existing is not None:
            raise LambdaError(409, "ResourceConflictException", f"Alias already exists: {function_arn(name, alias)}")
        if not creating and existing is None:
            raise LambdaError(404, "ResourceNotFoundException", f"Cannot find alias arn: {function_arn(name, alias)}")
        if existing is not None and params.get("RevisionId") and params["RevisionId"] != existing["RevisionId"]:
            raise _precondition()
        version = params.get("FunctionVersion") or (existing or {}).get("FunctionVersion")
        if not version:
            raise validation(None, "functionVersion", "Member must not be null")
        if version != LATEST and version not in record["versions"]:
            raise not_found(name, version)
        entry = {"AliasArn": function_arn(name, alias), "Name": alias, "FunctionVersion": version,
                 "Description": params.get("Description", (existing or {}).get("Description", "")),
                 "RevisionId": str(uuid.uuid4())}
        if "RoutingConfig" in params or (existing and "RoutingConfig" in existing):
            entry["RoutingConfig"] = params.get("RoutingConfig", (existing or {}).get("RoutingConfig"))
        record["aliases"][alias] = entry
        self._write(name, record)
        return dict(entry)

    def delete_alias(self, name: str, alias: str) -> None:
        record = self._require(name)
        if record["aliases"].pop(alias, None) is not None:  # Lambda answers 204 for an alias that is not there
            record["policy"].pop(alias, None)
            self._write(name, record)

    def add_permission(self, name: str, qualifier: str | None, params: dict[str, Any]) -> dict[str, Any]:
        record = self._require(name, qualifier)
        sid = params.get("StatementId")
        for field in ("StatementId", "Action", "Principal"):
            if not params.get(field):
                raise validation(None, field[0].lower() + field[1:], "Member must not be null")
        statements = record["policy"].setdefault(qualifier or LATEST, [])
        if any(s["Sid"] == sid for s in statements):
            raise LambdaError(409, "ResourceConflictException", f"The statement id ({sid}) provided already exists. "
                                                               f"Please provide a new statement id, or remove the "
                                                               f"existing statement.")
        principal = params["Principal"]
        statement: dict[str, Any] = {
            "Sid": sid, "Effect": "Allow",
            "Principal": {"Service": principal} if "." in principal and ":" not in principal else {"AWS": principal},
            "Action": params["Action"], "Resource": function_arn(name, qualifier)}
        condition: dict[str, Any] = {}
        if params.get("SourceArn"):
            condition["ArnLike"] = {"AWS:SourceArn": params["SourceArn"]}
        if params.get("SourceAccount"):
            condition["StringEquals"] = {"AWS:SourceAccount": params["SourceAccount"]}
        if condition:
            statement["Condition"] = condition
        statements.append(statement)
        self._write(name, record)
        return statement

    def remove_permission(self, name: str, qualifier: str | None, sid: str) -> None:
        record = self._require(name, qualifier)
        key = qualifier or LATEST
        statements = record["policy"].get(key, [])
        kept = [s for s in statements if s["Sid"] != sid]
        if len(kept) == len(statements):
            raise LambdaError(404, "ResourceNotFoundException", f"Statement {sid} is not found in resource policy.")
        record["policy"][key] = kept
        self._write(name, record)

    # -- inside

    def _require(self, name: str, qualifier: str | None = None) -> dict[str, Any]:
        """A copy of the function's record (a change that fails half-way leaves the loaded one as it was)."""
        record = self.record(name)
        if record is None:
            raise not_found(name)
        if qualifier is not None and self._version_of(record, qualifier) is None:
            raise not_found(name, qualifier)
        copy: dict[str, Any] = orjson.loads(orjson.dumps(record))
        return copy

    @staticmethod
    def _version_of(record: dict[str, Any], qualifier: str | None) -> str | None:
        if qualifier is None or qualifier == LATEST:
            return LATEST
        if qualifier in record["versions"]:
            return qualifier
        alias = record["aliases"].get(qualifier)
        return alias["FunctionVersion"] if alias is not None else None

    @staticmethod
    def _check_revision(record: dict[str, Any], params: dict[str, Any]) -> None:
        if params.get("RevisionId") and params["RevisionId"] != record["latest"]["RevisionId"]:
            raise _precondition()

    def _new_package(self, record: dict[str, Any], name: str, zipped: Any) -> None:
        data = _zip_bytes(zipped)
        record["packages"] += 1
        folder = f"code/{record['packages']}-{uuid.uuid4().hex[:8]}"  # never a folder an older process knew
        target = self.root / name / folder
        shutil.rmtree(target, ignore_errors=True)
        _unpack(data, target)
        config = record["latest"]
        config["_code"] = folder
        config["CodeSize"] = len(data)
        config["CodeSha256"] = base64.b64encode(hashlib.sha256(data).digest()).decode()
        _touch(config)

    def _publish(self, record: dict[str, Any], name: str, description: str) -> str:
        """A new numbered version of $LATEST, unless the newest version already is $LATEST (Lambda answers that
        one again)."""
        latest = record["latest"]
        last = record.get("last")
        if last is not None:
            newest = record["versions"].get(str(last))
            if newest is not None and _same(newest, latest):
                return str(last)
        number = (last or 0) + 1
        record["last"] = number
        version = dict(latest, Version=str(number), FunctionArn=function_arn(name, str(number)),
                       RevisionId=str(uuid.uuid4()))
        if description:
            version["Description"] = description
        record["versions"][str(number)] = version
        return str(number)

    def _write(self, name: str, record: dict[str, Any]) -> None:
        folder = self.root / name
        temporary = folder / f".function.json.{os.getpid()}"
        temporary.write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2))
        os.replace(temporary, folder / "function.json")
        found = (folder / "function.json").stat()
        self._loaded[name] = _Loaded((found.st_ino, found.st_mtime_ns, found.st_size), record)
        self._load_versions(name, record)

    def _forget(self, name: str) -> None:
        self._loaded.pop(name, None)
        for key in [k for k in self._specs if k == name or k.startswith(f"{name}:")]:
            del self._specs[key]

    def _load_versions(self, name: str, record: dict[str, Any]) -> None:
        runnable = {name: (LATEST, record["latest"])}
        runnable.update({f"{name}:{v}": (v, config) for v, config in record["versions"].items()})
        for key, (version, config) in runnable.items():
            spec = _spec(key, name, version, config, self.root / name)
            if self._specs.get(key) != spec:
                self._specs[key] = spec
                self._load(spec)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise validation(value, "functionName", "Member must satisfy regular expression pattern: "
                                                "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?"
                                                "(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?")
    return value


def _settings(config: dict[str, Any], params: dict[str, Any], creating: bool) -> dict[str, Any]:
    """The configuration with the request's settings applied, each checked as Lambda checks it."""
    if creating or "Runtime" in params:
        runtime = params.get("Runtime")
        if not isinstance(runtime, str) or not runtime.startswith(RUNTIMES):
            raise invalid(f"The runtime parameter of {runtime} is not supported by this gateway: it runs "
                          f"python3.x, nodejs (on the machine's node) and provided (provided.al2, provided.al2023) "
                          f"functions")
        config["Runtime"] = runtime
    if creating or "Handler" in params:
        handler = params.get("Handler")
        if config["Runtime"].startswith("python") and not (isinstance(handler, str) and "." in handler):
            raise validation(handler, "handler", "Member must satisfy regular expression pattern: [^\\s]+")
        config["Handler"] = handler or ""
    if "Timeout" in params:
        timeout = params["Timeout"]
        if not isinstance(timeout, int) or not 1 <= timeout <= 900:
            raise validation(timeout, "timeout", "Member must have value greater than or equal to 1"
                             if isinstance(timeout, int) and timeout < 1 else
                             "Member must have value less than or equal to 900")
        config["Timeout"] = timeout
    if "MemorySize" in params:
        memory = params["MemorySize"]
        if not isinstance(memory, int) or not 128 <= memory <= 10240:
            raise validation(memory, "memorySize", "Member must have value greater than or equal to 128"
                             if isinstance(memory, int) and memory < 128 else
                             "Member must have value less than or equal to 10240")
        config["MemorySize"] = memory
    if "Environment" in params:
        variables = (params["Environment"] or {}).get("Variables") or {}
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in variables.items()):
            raise invalid("Environment variables must be strings")
        reserved = sorted(k for k in variables if k.startswith("AWS_LAMBDA_") or k in ("_HANDLER", "AWS_REGION"))
        if reserved:
            raise invalid(f"Lambda was unable to configure your environment variables because the environment "
                          f"variables you have provided contains reserved keys that are currently not supported "
                          f"for modification. Reserved keys used in this request: {', '.join(reserved)}")
        config["Environment"] = {"Variables": dict(variables)}
    for field in ("Role", "Description"):
        if field in params:
            config[field] = params[field]
    name = config["FunctionName"]
    config.update(FunctionArn=function_arn(name), Version=LATEST, State="Active", LastUpdateStatus="Successful",
                  PackageType="Zip", Architectures=params.get("Architectures") or config.get("Architectures")
                  or ["x86_64"])
    return config


def _zip_bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise invalid("Could not unzip uploaded file. Please check your file, then try to upload again.")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise invalid("Could not unzip uploaded file. Please check your file, then try to upload again.") from None
    if len(data) > MAX_ZIP:
        raise LambdaError(413, "RequestEntityTooLargeException",
                          f"Request must be smaller than {MAX_ZIP} bytes for the CreateFunction operation")
    return data


def _unpack(data: bytes, target: Path) -> None:
    """The zip into `target`, keeping executable bits (a `bootstrap`); a path that leaves `target`, or a
    package too large unpacked, is refused."""
    bad = invalid("Could not unzip uploaded file. Please check your file, then try to upload again.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise bad from None
    if sum(m.file_size for m in members) > MAX_UNZIPPED:
        raise invalid(f"Unzipped size must be smaller than {MAX_UNZIPPED} bytes")
    root = target.resolve()
    target.mkdir(parents=True)
    try:
        for member in members:
            path = (target / member.filename).resolve()
            if root not in path.parents and path != root:
                raise bad
            if member.is_dir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, open(path, "wb") as sink:
                shutil.copyfileobj(source, sink)
            mode = (member.external_attr >> 16) & 0o777
            os.chmod(path, mode | stat.S_IRUSR | stat.S_IWUSR if mode else 0o644)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        shutil.rmtree(target, ignore_errors=True)
        raise bad from None
    except LambdaError:
        shutil.rmtree(target, ignore_errors=True)
        raise


def _spec(key: str, name: str, version: str, config: dict[str, Any], folder: Path) -> FunctionSpec:
    """How the worker runner runs one version: Lambda's variables name the function and its version."""
    runtime = config["Runtime"]
    variables = dict((config.get("Environment") or {}).get("Variables") or {})
    variables.update(AWS_LAMBDA_FUNCTION_NAME=name, AWS_LAMBDA_FUNCTION_VERSION=version,
                     AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{name}",
                     AWS_EXECUTION_ENV=f"AWS_Lambda_{runtime}")
    provided = runtime.startswith("provided")
    kind = "provided" if provided else "nodejs" if runtime.startswith("nodejs") else "python"
    # Node's `path/file.export` is resolved by its bootstrap, Python's `module.function` becomes a file here.
    return FunctionSpec(name=key, handler=_handler(config["Handler"]) if kind == "python" else config["Handler"],
                        base_dir=folder / config["_code"], timeout=float(config["Timeout"]),
                        memory=int(config["MemorySize"]), environment=variables, mode="worker", runtime=kind,
                        bootstrap=Path("bootstrap") if provided else None)


def _handler(handler: str) -> str:
    """Lambda's `module.function` (`dir/module.function`, `package.module.function`) as a file and a function."""
    module, _, function = handler.rpartition(".")
    return f"{module.replace('.', '/')}.py:{function}"


def _public(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if not k.startswith("_")}


def _same(version: dict[str, Any], latest: dict[str, Any]) -> bool:
    ignored = {"Version", "FunctionArn", "RevisionId", "LastModified", "Description"}
    return ({k: v for k, v in version.items() if k not in ignored}
            == {k: v for k, v in latest.items() if k not in ignored})


def _used(record: dict[str, Any], folder: str) -> bool:
    return record["latest"]["_code"] == folder or any(v["_code"] == folder for v in record["versions"].values())


def _touch(config: dict[str, Any]) -> None:
    config["LastModified"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
    config["RevisionId"] = str(uuid.uuid4())


def _precondition() -> LambdaError:
    return LambdaError(412, "PreconditionFailedException", "The Revision Id provided does not match the latest "
                                                          "Revision Id. Call the GetFunction/GetAlias API to "
                                                          "retrieve the latest Revision Id")
