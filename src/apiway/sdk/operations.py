"""What a generated client exposes of a deployment snapshot: one operation per resource and verb, named as
AWS names the methods of its JavaScript SDK (`/pets/{petId}` GET → `petsPetIdGet`), with the parameters the
method declares."""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

from apiway.model.rest import ApiDefinition, Method

_WORD = re.compile(r"[A-Za-z0-9]+")
_VARIABLE = re.compile(r"\{([^{}+]+)(\+?)\}")
_CAMEL_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")  # petsId → pets_Id, aBGet → a_B_Get
_VERB_ORDER = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str  # as the API declares it: the path variable, query string or header name
    required: bool


@dataclass(slots=True)
class Operation:
    name: str  # AWS's JavaScript method name: path words and verb in camel case
    verb: str
    path: str  # the resource path, a URI template: `/pets/{id}`, `/files/{key+}`
    path_params: list[str] = field(default_factory=list)
    query: list[Parameter] = field(default_factory=list)
    headers: list[Parameter] = field(default_factory=list)
    api_key_required: bool = False
    authorization: str = "NONE"

    @property
    def required(self) -> list[str]:
        """The parameters a call must give: every path variable and what the method marks required."""
        return self.path_params + [p.name for p in (*self.query, *self.headers) if p.required]


def operations(snapshot: ApiDefinition) -> list[Operation]:
    """Every method of the snapshot, ordered by path then verb; names made unique by a numeric suffix."""
    found: list[Operation] = []
    for resource in sorted(snapshot["resources"].values(), key=lambda r: r["path"]):
        methods = resource.get("resourceMethods") or {}
        for verb in sorted(methods, key=lambda v: _VERB_ORDER.index(v) if v in _VERB_ORDER else len(_VERB_ORDER)):
            found.append(_operation(resource["path"], verb, methods[verb]))
    taken: set[str] = set()
    for op in found:
        base, n = op.name, 1
        while op.name in taken:
            n += 1
            op.name = f"{base}{n}"
        taken.add(op.name)
    return found


def _operation(path: str, verb: str, method: Method) -> Operation:
    declared = method.get("requestParameters") or {}
    query: list[Parameter] = []
    headers: list[Parameter] = []
    for key, required in sorted(declared.items()):
        _, _, rest = key.partition("method.request.")
        source, _, name = rest.partition(".")
        if source == "querystring" and name:
            query.append(Parameter(name, bool(required)))
        elif source == "header" and name:
            headers.append(Parameter(name, bool(required)))
    return Operation(name=method_name(path, verb), verb=verb, path=path,
                     path_params=[m.group(1) for m in _VARIABLE.finditer(path)], query=query, headers=headers,
                     api_key_required=bool(method.get("apiKeyRequired")),
                     authorization=method.get("authorizationType") or "NONE")


def method_name(path: str, verb: str) -> str:
    """AWS's JavaScript SDK name: each word of the path (braces, `+` and separators dropped) with its first
    letter capitalised, then the verb, the whole starting lower case; the root is `root`."""
    words = _WORD.findall(path) or ["root"]
    joined = "".join(w[0].upper() + w[1:] for w in (*words, verb.lower()))
    return joined[0].lower() + joined[1:]


def python_name(name: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A Python identifier for a method or parameter name: snake case, a keyword or a name in `taken` gets a
    trailing underscore (PEP 8's way), a leading digit a leading underscore."""
    snake = "_".join(_WORD.findall(_CAMEL_BREAK.sub("_", name))).lower() or "_"
    if snake[0].isdigit():
        snake = "_" + snake
    while keyword.iskeyword(snake) or snake in taken:
        snake += "_"
    return snake

