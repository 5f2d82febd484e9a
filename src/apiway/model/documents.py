"""Loading JSON/YAML documents so that errors can name the file, line and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import yaml

from apiway.model.document_limits import BoundedLoader, DocumentTooLarge, check_depth


class DocumentError(Exception):
    """A problem in a document, located by its path of keys; `str()` is the CLI message."""

    def __init__(self, source: str, where: tuple[Any, ...], message: str, line: int | None = None) -> None:
        self.source = source
        self.where = where
        self.message = message
        self.line = line
        super().__init__(self.render())

    def render(self) -> str:
        location = f"{self.source}:{self.line}" if self.line else self.source
        field = ".".join(str(p) for p in self.where)
        return f"{location}: {field}: {self.message}" if field else f"{location}: {self.message}"


def parse_text(text: str, source: str) -> Any:
    """JSON (fast path) or YAML; a syntax error names line and column. Nesting and alias expansion are
    bounded (document_limits), since documents come from outside."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            doc = orjson.loads(text)
            check_depth(doc)
            return doc
        except orjson.JSONDecodeError as exc:
            raise DocumentError(source, (), f"invalid JSON: {exc}", exc.lineno) from None
        except DocumentTooLarge as exc:
            raise DocumentError(source, (), f"invalid JSON: {exc}") from None
    try:
        return yaml.load(text, Loader=BoundedLoader)  # a SafeLoader, with bounds
    except DocumentTooLarge as exc:
        raise DocumentError(source, (), f"invalid YAML: {exc}", exc.line) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        problem = str(exc.problem or exc)
        if "constructor for the tag '!" in problem:  # `!Sub`, `!Ref`, … belong to CloudFormation templates
            problem += " (a CloudFormation function: use a SAM/CloudFormation template, or write the value)"
        raise DocumentError(source, (), f"invalid YAML: {problem}", line) from None
    except yaml.YAMLError as exc:
        raise DocumentError(source, (), f"invalid YAML: {exc}") from None
    except ValueError as exc:  # PyYAML's timestamp constructor on a date-like scalar such as 2001-13-45
        raise DocumentError(source, (), f"invalid YAML: {exc}") from None
    except RecursionError:  # PyYAML composes recursively: a few thousand nested [ or { exhaust the stack
        raise DocumentError(source, (), "invalid YAML: nested too deeply") from None


def load_document(path: Path, parse: Callable[[str, str], Any] = parse_text) -> tuple[Any, str]:
    """(the parsed document, its text); `parse` reads the text (CloudFormation templates have their own tags)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DocumentError(str(path), (), f"cannot read file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise DocumentError(str(path), (), "file is not UTF-8 text") from None
    return parse(text, str(path)), text


def line_of(text: str, where: tuple[Any, ...]) -> int | None:
    """1-based line of the node at `where` (keys and list indexes), or of its nearest parent."""
    try:
        node = yaml.compose(text, Loader=BoundedLoader)
    except (yaml.YAMLError, DocumentTooLarge, RecursionError):
        return None
    line = None
    for key in where:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(key):
                    line = k.start_mark.line + 1
                    node = v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line if line is not None or node is None else node.start_mark.line + 1
