"""What the readers of a template share: the template's text for locating errors, its resources, the ids the
served APIs will have, the functions' names, and the resolver of intrinsic functions."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apiway.model.aws import ACCOUNT_ID
from apiway.model.documents import DocumentError, line_of
from apiway.templates.intrinsics import Resolver, Where

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
REST_API_TYPES = ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi")
V2_API_TYPES = ("AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api")
IMPLICIT_REST, IMPLICIT_HTTP = "ServerlessRestApi", "ServerlessHttpApi"
FUNCTION_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def api_id_for(path: Path, logical_id: str) -> str:
    """A stable id per template and API: restarts and `${ServerlessRestApi}` agree on it."""
    return hashlib.sha256(f"{path.resolve()}#{logical_id}".encode()).hexdigest()[:10]


def lambda_arn(region: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"


def invocation_uri(region: str, function_arn: str) -> str:
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


@dataclass
class Context:
    path: Path
    text: str
    template: dict[str, Any]
    region: str
    overrides: dict[str, str]
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    function_names: dict[str, str] = field(default_factory=dict)  # logical id → function name
    api_ids: dict[str, str] = field(default_factory=dict)  # logical id (implicit ones too) → API id
    notes: list[str] = field(default_factory=list)
    resolver: Resolver = field(init=False)

    def __post_init__(self) -> None:
        self.resources = {k: v for k, v in self.template["Resources"].items() if isinstance(v, dict)}
        for logical, resource in self.resources.items():
            kind = resource.get("Type")
            if kind in REST_API_TYPES or kind in V2_API_TYPES:
                self.api_ids[logical] = api_id_for(self.path, logical)
            if kind in FUNCTION_TYPES:
                name = (resource.get("Properties") or {}).get("FunctionName")
                self.function_names[logical] = name if isinstance(name, str) and FUNCTION_NAME_RE.match(name) \
                    else logical
        for implicit in (IMPLICIT_REST, IMPLICIT_HTTP):
            self.api_ids.setdefault(implicit, api_id_for(self.path, implicit))
        self.resolver = Resolver(self.fail, self._parameters(), self._mapping("Mappings"), self.region,
                                 self.path.parent.name or "stack", self._ref, self._attribute)
        self.resolver.conditions = dict(self._mapping("Conditions"))

    def fail(self, where: Where, message: str) -> DocumentError:
        return DocumentError(str(self.path), where, message, line_of(self.text, where))

    def _mapping(self, key: str) -> dict[str, Any]:
        value = self.template.get(key) or {}
        if not isinstance(value, dict):
            raise self.fail((key,), "must be a mapping")
        return value

    def _parameters(self) -> dict[str, Any]:
        declared = self._mapping("Parameters")
        unknown = sorted(set(self.overrides) - set(declared))
        if unknown:
            raise DocumentError(str(self.path), ("--parameter-overrides",),
                                f"the template has no parameter {unknown[0]!r} (its parameters: "
                                f"{', '.join(declared) or 'none'})")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            spec = spec if isinstance(spec, dict) else {}
            if name in self.overrides:
                value: Any = self.overrides[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise self.fail(("Parameters", name), "no Default: give its value with --parameter-overrides "
                                                      f"{name}=VALUE")
            allowed = spec.get("AllowedValues")
            if isinstance(allowed, list) and str(value) not in [str(a) for a in allowed]:
                raise self.fail(("Parameters", name, "AllowedValues"), f"{value!r} is not one of the allowed "
                                                                       f"values: {', '.join(map(str, allowed))}")
            if str(spec.get("Type", "")).startswith("List<") or spec.get("Type") == "CommaDelimitedList":
                value = [v.strip() for v in str(value).split(",")] if not isinstance(value, list) else value
            values[name] = value if isinstance(value, list) else str(value)
        return values

    def _ref(self, logical: str) -> str | None:
        api, _, generated = logical.partition(".")
        if generated and api in self.api_ids:  # SAM's `MyApi.Stage` / `MyApi.Deployment`
            return self._api_stage(api) if generated == "Stage" else f"{api}Deployment"
        if logical in self.function_names:
            return self.function_names[logical]
        if logical in self.api_ids:
            return self.api_ids[logical]
        resource = self.resources.get(logical)
        if resource is None:
            return None
        if resource.get("Type") == "AWS::ApiGateway::Stage":
            name = (resource.get("Properties") or {}).get("StageName")
            return self.resolver.text(name, ("Resources", logical, "Properties", "StageName")) if name else logical
        return logical  # a table's, queue's or role's name here is its logical id

    def _api_stage(self, api: str) -> str:
        props = (self.resources.get(api) or {}).get("Properties") or {}
        name = props.get("StageName")
        if name is None:
            return "$default" if (self.resources.get(api) or {}).get("Type") == V2_API_TYPES[0] else "Prod"
        return self.resolver.text(name, ("Resources", api, "Properties", "StageName"))

    def _attribute(self, logical: str, attribute: Any) -> str | None:
        if logical in self.function_names and attribute == "Arn":
            return lambda_arn(self.region, self.function_names[logical])
        if logical in self.api_ids:
            api_id = self.api_ids[logical]
            if attribute == "RootResourceId":
                return "/"
            if attribute in ("ApiEndpoint",):
                return f"https://{api_id}.execute-api.{self.region}.amazonaws.com"
            if attribute in ("ApiId", "RestApiId"):
                return api_id
            return None
        resource = self.resources.get(logical)
        if resource is None:
            return None
        if attribute == "Arn":
            service = str(resource.get("Type", "AWS::Unknown::X")).split("::")[1].lower()
            return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{logical}"
        if attribute in ("ResourceId", "AuthorizerId"):
            return logical
        return None

    def properties(self, logical: str) -> dict[str, Any]:
        props = self.resources[logical].get("Properties") or {}
        if not isinstance(props, dict):
            raise self.fail(("Resources", logical, "Properties"), "must be a mapping")
        return props

    def resolved(self, logical: str) -> dict[str, Any]:
        """The resource's properties with every intrinsic function resolved."""
        where = ("Resources", logical, "Properties")
        return self.resolver.resolve(self.properties(logical), where)

    def active(self, logical: str) -> bool:
        """False for a resource whose Condition is false: it does not exist."""
        condition = self.resources[logical].get("Condition")
        return not isinstance(condition, str) or self.resolver.condition(condition, ("Resources", logical,
                                                                                      "Condition"))
