"""What the readers of one service file share: the file for locating errors, the resolved configuration,
the stage and region, the functions' deployed names, the API ids and the CloudFormation resolver for the
intrinsic functions a service may hold (`Ref: ApiGatewayRestApi`, `Fn::GetAtt: [HelloLambdaFunction, Arn]`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apiway.model.documents import DocumentError, line_of
from apiway.templates.context import Context, api_id_for

REST_API, HTTP_API, WEBSOCKETS_API = "ApiGatewayRestApi", "HttpApi", "WebsocketsApi"


def normalized(key: str) -> str:
    """The Framework's logical-id form of a function key: `hello-world` → `HelloDashworld`."""
    text = key.replace("-", "Dash").replace("_", "Underscore")
    return text[:1].upper() + text[1:]


@dataclass
class Service:
    path: Path
    text: str
    config: dict[str, Any]  # variables resolved
    stage: str
    region: str
    name: str  # `service`
    function_names: dict[str, str] = field(default_factory=dict)  # function key → deployed name
    notes: list[str] = field(default_factory=list)
    used_resources: set[str] = field(default_factory=set)  # logical ids of `resources` an API took in
    cfn: Context = field(init=False)

    def __post_init__(self) -> None:
        resources = ((self.config.get("resources") or {}).get("Resources")) or {}
        self.cfn = Context(self.path, self.text, {"Resources": resources if isinstance(resources, dict) else {}},
                           self.region, {})
        self.cfn.notes = self.notes
        for logical in (REST_API, HTTP_API, WEBSOCKETS_API):
            self.cfn.api_ids[logical] = self.api_id(logical)

    def fail(self, where: tuple[Any, ...], message: str) -> DocumentError:
        return DocumentError(str(self.path), where, message, line_of(self.text, where))

    def api_id(self, logical: str) -> str:
        """Stable per file, stage and API: each stage is its own stack, with its own APIs."""
        return api_id_for(self.path, f"{self.stage}#{logical}")

    def name_function(self, key: str, name: str) -> None:
        self.function_names[key] = name
        self.cfn.function_names[f"{normalized(key)}LambdaFunction"] = name

    def function(self, value: Any, where: tuple[Any, ...]) -> str:
        """The deployed name of a function named by its key in `functions` (or by a Lambda ARN of one)."""
        if isinstance(value, str) and value.startswith("arn:"):
            name = value.rsplit(":", 1)[-1]
            if name in self.function_names.values():
                return name
            raise self.fail(where, f"{value}: not a function of this service (only its own functions run here)")
        if not isinstance(value, str) or value not in self.function_names:
            known = ", ".join(self.function_names) or "none"
            raise self.fail(where, f"no function {value!r} in `functions` (its functions: {known})")
        return self.function_names[value]

    def intrinsics(self, value: Any, where: tuple[Any, ...]) -> Any:
        """CloudFormation's `Ref`/`Fn::*` in a value, resolved as the template reader resolves them."""
        return self.cfn.resolver.resolve(value, where)
