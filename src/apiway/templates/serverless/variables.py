"""The Framework's variables, resolved locally: `${self:…}`, `${opt:stage}`/`${opt:region}`, `${env:VAR}`,
`${sls:stage}`, `${aws:region}`/`${aws:accountId}`, `${file(./local.yml):key}`, fallbacks
(`${self:custom.x, 'default'}`) and variables inside variables. Sources that need AWS or a deployment
(`ssm`, `cf`, `s3`, `param`, …) are errors that name the file, the line and what to write instead.
`${AWS::Region}`-style text (CloudFormation's `Fn::Sub`) is left as it is."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from apiway.model.aws import ACCOUNT_ID
from apiway.model.documents import DocumentError
from apiway.templates.yaml_loader import parse_template

Where = tuple[Any, ...]
Fail = Callable[[Where, str], DocumentError]

_INNERMOST = re.compile(r"\$\{([^${}]*)\}")
_FILE = re.compile(r"^file\((?P<path>[^)]+)\)(?::(?P<key>.*))?$")
_SOURCE = re.compile(r"^(?P<source>[A-Za-z][\w-]*):(?P<address>.*)$")
_NEEDS_AWS = {"ssm": "SSM Parameter Store", "cf": "another CloudFormation stack's outputs", "s3": "an S3 object",
              "param": "Serverless Dashboard parameters (none in `stages`/`params` of this file)",
              "secrets": "Secrets Manager", "vault": "Vault", "terraform": "Terraform state", "doppler": "Doppler",
              "git": "git", "sls": "the Framework", "aws": "AWS"}
_UNSET = object()
_MAX_ROUNDS = 64  # variables inside variables: more than this is a loop


class Variables:
    """Resolves the values of a service file. `stage` is `--stage` (None when not given), the only option
    `${opt:…}` reads."""

    def __init__(self, config: dict[str, Any], folder: Path, fail: Fail, stage: str | None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.folder = folder
        self.fail = fail
        self.options = {"stage": stage}
        self.environ = os.environ if environ is None else environ
        self._resolving: set[str] = set()
        self._files: dict[Path, Any] = {}

    def stage(self) -> str:
        """What `${sls:stage}` means: --stage, else provider.stage, else dev."""
        if self.options["stage"]:
            return str(self.options["stage"])
        value = self.resolve(self._provider().get("stage"), ("provider", "stage"))
        return str(value) if value not in (None, "") else "dev"

    def region(self) -> str:
        """What `${aws:region}` means: provider.region, else us-east-1."""
        value = self.resolve(self._provider().get("region"), ("provider", "region"))
        return str(value) if value not in (None, "") else "us-east-1"

    def _provider(self) -> dict[str, Any]:
        provider = self.config.get("provider") or {}
        if not isinstance(provider, dict):
            raise self.fail(("provider",), "must be a mapping (name: aws, runtime, stage, …)")
        return provider

    def resolve(self, value: Any, where: Where) -> Any:
        if isinstance(value, dict):
            return {k: self.resolve(v, (*where, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, (*where, i)) for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            return self._text(value, where)
        return value

    def _text(self, text: str, where: Where) -> Any:
        for _ in range(_MAX_ROUNDS):
            found = None
            for match in _INNERMOST.finditer(text):
                if self._is_variable(match.group(1)):
                    found = match
                    break
            if found is None:
                return text
            value = self._variable(found.group(1).strip(), where)
            if found.span() == (0, len(text)):
                if not isinstance(value, str) or "${" not in value:
                    return value
                text = value
                continue
            if isinstance(value, dict | list):
                raise self.fail(where, f"${{{found.group(1)}}} is a {type(value).__name__}: it cannot be part of a "
                                       f"string")
            text = text[:found.start()] + _scalar_text(value) + text[found.end():]
        raise self.fail(where, "variables keep producing variables (a loop?)")

    @staticmethod
    def _is_variable(inner: str) -> bool:
        """`${self:x}` and `${file(..)}` are the Framework's; `${AWS::Region}` and `${Name}` are `Fn::Sub`'s."""
        head = inner.strip()
        return head.startswith("file(") or (bool(_SOURCE.match(head)) and "::" not in head.split(",")[0])

    def _variable(self, inner: str, where: Where) -> Any:
        reference, fallback = _split_fallback(inner)
        value = self._source(reference, where)
        if value is None and fallback is not None:
            value = self._fallback(fallback, where)
        if value is None:
            raise self.fail(where, f"${{{inner}}}: no value ({_missing_hint(reference)}), and no fallback such as "
                                   f"${{{reference}, 'default'}}")
        return value

    def _fallback(self, text: str, where: Where) -> Any:
        text = text.strip()
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            return text[1:-1]
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        try:
            return int(text) if re.fullmatch(r"-?\d+", text) else float(text)
        except ValueError:
            pass
        if self._is_variable(text):  # `${opt:stage, self:provider.stage}`: a bare variable as the fallback
            return self._variable(text, where)
        return text

    def _source(self, reference: str, where: Where) -> Any:
        file_match = _FILE.match(reference)
        if file_match:
            return self._file(file_match.group("path").strip(), file_match.group("key"), where)
        match = _SOURCE.match(reference)
        if match is None:
            raise self.fail(where, f"${{{reference}}} is not a variable the Framework knows")
        source, address = match.group("source"), match.group("address").strip()
        if source == "self":
            return self._self(address, where)
        if source == "opt":
            if address == "region":
                return None  # `apiway serve` has no --region: the fallback applies
            if address not in self.options:
                raise self.fail(where, f"${{opt:{address}}}: `apiway serve` passes only --stage to a service (give "
                                       f"a fallback: ${{opt:{address}, 'value'}})")
            return self.options[address]
        if source == "env":
            return self.environ.get(address)
        if source == "sls" and address == "stage":
            return self.stage()
        if source == "sls" and address == "instanceId":
            return "local"
        if source == "aws" and address == "region":
            return self.region()
        if source == "aws" and address == "accountId":
            return ACCOUNT_ID
        if source == "param":
            found = self._param(address, where)
            if found is not None:
                return found
        what = _NEEDS_AWS.get(source)
        if what is not None:
            raise self.fail(where, f"${{{reference}}} reads {what}, which a local gateway cannot: give the value in "
                                   f"`custom` (or `${{env:NAME}}`) instead, or a fallback: ${{{reference}, "
                                   f"'local-value'}}")
        raise self.fail(where, f"${{{reference}}}: unknown variable source {source!r} (self, opt, env, sls, aws and "
                               f"file(…) are read here)")

    def _self(self, address: str, where: Where) -> Any:
        keys = tuple(_address(address))
        node: Any = self.config
        for key in keys:
            node = _child(node, key)
            if node is _UNSET:
                # The Framework's defaults: `${self:provider.stage}` is dev, `…region` us-east-1, when not set
                if keys == ("provider", "stage"):
                    return self.stage()
                return self.region() if keys == ("provider", "region") else None
        marker = ".".join(map(str, keys))
        if marker in self._resolving:
            raise self.fail(where, f"${{self:{address}}} refers to itself")
        self._resolving.add(marker)
        try:
            return self.resolve(node, keys)
        finally:
            self._resolving.discard(marker)

    def _param(self, address: str, where: Where) -> Any:
        """`${param:x}` from the file's own stage parameters: v4's `stages.{stage}.params` (then
        `stages.default.params`), v3's `params.{stage}` (then `params.default`)."""
        stage = self.stage()
        for top, tail in (("stages", "params"), ("params", None)):
            for name in (stage, "default"):
                keys = (top, name, tail, address) if tail else (top, name, address)
                node: Any = self.config
                for key in keys:
                    node = _child(node, key)
                if node is not _UNSET:
                    return self.resolve(node, keys)
        return None

    def _file(self, relative: str, key: str | None, where: Where) -> Any:
        path = (self.folder / relative.strip("'\"")).resolve()
        if path.suffix in (".js", ".cjs", ".mjs", ".ts"):
            raise self.fail(where, f"${{file({relative})}}: a JavaScript file runs code, which is not done here "
                                   f"(write its result into a YAML or JSON file)")
        if path not in self._files:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
                raise self.fail(where, f"${{file({relative})}}: cannot read {path}: {reason}") from None
            # YAML and JSON files are values; any other file is its text, as the Framework reads it
            self._files[path] = parse_template(text, str(path)) if path.suffix in (".yml", ".yaml", ".json") \
                else text
        node = self._files[path]
        for part in _address(key or ""):
            node = _child(node, part)
            if node is _UNSET:
                return None
        return self.resolve(node, where)


def _split_fallback(inner: str) -> tuple[str, str | None]:
    """`self:custom.x, 'a, b'` → (`self:custom.x`, `'a, b'`): the first comma outside quotes and parentheses."""
    depth, quote = 0, ""
    for i, char in enumerate(inner):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            return inner[:i].strip(), inner[i + 1:]
    return inner.strip(), None


def _address(address: str) -> list[str]:
    return [part for part in address.strip().split(".") if part] if address.strip() else []


def _child(node: Any, key: str) -> Any:
    if isinstance(node, dict):
        return node.get(key, _UNSET)
    if isinstance(node, list) and key.isdigit() and int(key) < len(node):
        return node[int(key)]
    return _UNSET


def _scalar_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _missing_hint(reference: str) -> str:
    if reference == "opt:stage":
        return "give --stage to `apiway serve`"
    if reference.startswith("opt:"):
        return f"`apiway serve` has no --{reference[4:]} option"
    if reference.startswith("env:"):
        return f"{reference[4:]} is not set in the environment"
    return "nothing at that address"
