"""Templates as CloudFormation reads them: JSON, or YAML with the short intrinsic tags (`!Sub`, `!Ref`, …) turned
into their long forms, so the rest of the reader sees one shape. Lines are found again from the text
(model/documents.line_of composes it without constructing tags)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from apiway.model.document_limits import BoundedLoader
from apiway.model.documents import DocumentError, line_of, load_document, parse_text

_FUNCTIONS = ("Base64", "Cidr", "FindInMap", "GetAZs", "ImportValue", "Join", "Select", "Split", "Sub", "If",
              "Equals", "Not", "And", "Or", "Transform", "Length", "ToJsonString", "GetAtt")


class TemplateLoader(BoundedLoader):
    """The bounded safe loader, knowing CloudFormation's tags."""


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    value = _construct(loader, node)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        logical, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [logical, attribute]}
    if suffix in _FUNCTIONS:
        return {f"Fn::{suffix}": value}
    raise yaml.constructor.ConstructorError(None, None, f"unknown tag !{suffix}", node.start_mark)


TemplateLoader.add_multi_constructor("!", _tag)


def looks_like_template(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("Resources"), dict) and "openapi" not in doc \
        and "swagger" not in doc


def parse_template(text: str, source: str) -> Any:
    """The template's value (JSON fast path, else YAML with the tags); syntax errors name the line."""
    if text.lstrip().startswith(("{", "[")):
        return parse_text(text, source)
    try:
        return yaml.load(text, Loader=TemplateLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise DocumentError(source, (), f"invalid YAML: {exc.problem or exc}", line) from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise DocumentError(source, (), f"invalid YAML: {exc}") from None


def read_template(path: Path) -> tuple[Any, str]:
    return load_document(path, parse_template)


class Located:
    """Errors that name the template, the line and the path of keys."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text

    def error(self, where: tuple[Any, ...], message: str) -> DocumentError:
        return DocumentError(str(self.path), where, message, line_of(self.text, where))
