"""CloudFormation's intrinsic functions and conditions, resolved locally: parameters (with their defaults and
the overrides given at start), pseudo parameters, mappings, and what the reader says a resource's `Ref` and
attributes are. What cannot be known here (other stacks, availability zones) is an error naming the place."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from apiway.model.aws import ACCOUNT_ID
from apiway.model.documents import DocumentError

PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"
_SUB = re.compile(r"\$\{([^}]*)\}")


class NoValue:
    """`Ref: AWS::NoValue`: the property it stands for is removed."""


NO_VALUE = NoValue()
Where = tuple[Any, ...]
Fail = Callable[[Where, str], DocumentError]


class Resolver:
    """Resolves a template's values. `ref(logical_id)` and `attribute(logical_id, name)` answer for resources
    and return None when they do not know it."""

    def __init__(self, fail: Fail, parameters: dict[str, Any], mappings: dict[str, Any], region: str,
                 stack_name: str, ref: Callable[[str], str | None],
                 attribute: Callable[[str, str], str | None]) -> None:
        self.fail = fail
        self.parameters = parameters
        self.mappings = mappings
        self.ref_of = ref
        self.attribute_of = attribute
        self.conditions: dict[str, Any] = {}  # name → raw condition, then bool once evaluated
        self.pseudo = {"AWS::Region": region, "AWS::AccountId": ACCOUNT_ID, "AWS::Partition": PARTITION,
                       "AWS::StackName": stack_name, "AWS::URLSuffix": URL_SUFFIX,
                       "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/local",
                       "AWS::NotificationARNs": []}

    def resolve(self, value: Any, where: Where) -> Any:
        if isinstance(value, list):
            out = [self.resolve(v, (*where, i)) for i, v in enumerate(value)]
            return [v for v in out if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg, (*where, key))
            if key == "Condition" and isinstance(arg, str):
                return self.condition(arg, (*where, key))
            if isinstance(key, str) and key.startswith("Fn::"):
                return self.function(key, arg, (*where, key))
        resolved_map: dict[Any, Any] = {}
        for k, v in value.items():
            resolved = self.resolve(v, (*where, k))
            if resolved is not NO_VALUE:
                resolved_map[k] = resolved
        return resolved_map

    def text(self, value: Any, where: Where) -> str:
        resolved = self.resolve(value, where)
        if isinstance(resolved, bool):
            return str(resolved).lower()
        if not isinstance(resolved, str | int | float):
            raise self.fail(where, "must resolve to a string")
        return str(resolved)

    def ref(self, name: Any, where: Where) -> Any:
        if not isinstance(name, str):
            raise self.fail(where, "Ref takes the name of a parameter or resource")
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        found = self.ref_of(name)
        if found is None:
            raise self.fail(where, f"Ref to {name!r}: no parameter or resource of that name in this template")
        return found

    def get_att(self, arg: Any, where: Where) -> str:
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        if not isinstance(arg, list) or len(arg) != 2:
            raise self.fail(where, "Fn::GetAtt takes [LogicalId, Attribute]")
        logical, attribute = arg[0], self.resolve(arg[1], where)
        found = self.attribute_of(logical, attribute)
        if found is None:
            raise self.fail(where, f"Fn::GetAtt {logical}.{attribute}: not an attribute this gateway can know "
                                   f"(write the value, or use a parameter)")
        return found

    def function(self, name: str, arg: Any, where: Where) -> Any:
        handler = getattr(self, "_" + name[4:].lower(), None)
        if handler is None:
            if name in ("Fn::ImportValue", "Fn::GetAZs"):
                raise self.fail(where, f"{name} reads another stack or the account, which a local gateway cannot "
                                       f"(use a parameter, and --parameter-overrides to give its value)")
            raise self.fail(where, f"{name} is not supported here (write the value)")
        return handler(arg, where)

    def _getatt(self, arg: Any, where: Where) -> str:
        return self.get_att(arg, where)

    def _sub(self, arg: Any, where: Where) -> str:
        if isinstance(arg, list):
            if len(arg) != 2 or not isinstance(arg[1], dict):
                raise self.fail(where, "Fn::Sub takes a string or [string, {Name: value}]")
            text, variables = arg[0], {k: self.resolve(v, (*where, 1, k)) for k, v in arg[1].items()}
        else:
            text, variables = arg, {}
        if not isinstance(text, str):
            raise self.fail(where, "Fn::Sub takes a string")

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] not in self.parameters and not name.startswith("AWS::"):
                return self.get_att(name.split(".", 1), where)
            value = self.ref(name, where)
            return ",".join(value) if isinstance(value, list) else str(value)

        return _SUB.sub(one, text)

    def _join(self, arg: Any, where: Where) -> str:
        if not isinstance(arg, list) or len(arg) != 2:
            raise self.fail(where, "Fn::Join takes [delimiter, [values]]")
        items = self.resolve(arg[1], (*where, 1))
        if not isinstance(items, list):
            raise self.fail(where, "Fn::Join needs a list of values")
        return str(arg[0]).join(str(i) for i in items)

    def _select(self, arg: Any, where: Where) -> Any:
        if not isinstance(arg, list) or len(arg) != 2:
            raise self.fail(where, "Fn::Select takes [index, [values]]")
        index, items = self.resolve(arg[0], (*where, 0)), self.resolve(arg[1], (*where, 1))
        try:
            return items[int(index)]
        except (ValueError, TypeError, IndexError):
            raise self.fail(where, f"Fn::Select: no item {index!r} in {items!r}") from None

    def _split(self, arg: Any, where: Where) -> list[str]:
        if not isinstance(arg, list) or len(arg) != 2:
            raise self.fail(where, "Fn::Split takes [delimiter, string]")
        return self.text(arg[1], (*where, 1)).split(str(arg[0]))

    def _base64(self, arg: Any, where: Where) -> str:
        return base64.b64encode(self.text(arg, where).encode()).decode()

    def _findinmap(self, arg: Any, where: Where) -> Any:
        if not isinstance(arg, list) or len(arg) not in (3, 4):
            raise self.fail(where, "Fn::FindInMap takes [MapName, TopKey, SecondKey]")
        keys = [self.resolve(a, (*where, i)) for i, a in enumerate(arg[:3])]
        try:
            return self.mappings[keys[0]][keys[1]][keys[2]]
        except (KeyError, TypeError):
            if len(arg) == 4 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
                return self.resolve(arg[3]["DefaultValue"], (*where, 3))
            raise self.fail(where, f"Fn::FindInMap: Mappings has no {'.'.join(map(str, keys))}") from None

    def _if(self, arg: Any, where: Where) -> Any:
        if not isinstance(arg, list) or len(arg) != 3 or not isinstance(arg[0], str):
            raise self.fail(where, "Fn::If takes [Condition, value if true, value if false]")
        chosen = 1 if self.condition(arg[0], (*where, 0)) else 2
        return self.resolve(arg[chosen], (*where, chosen))

    def _equals(self, arg: Any, where: Where) -> bool:
        if not isinstance(arg, list) or len(arg) != 2:
            raise self.fail(where, "Fn::Equals takes [value, value]")
        a, b = (self.resolve(v, (*where, i)) for i, v in enumerate(arg))
        return str(a) == str(b)

    def _not(self, arg: Any, where: Where) -> bool:
        if not isinstance(arg, list) or len(arg) != 1:
            raise self.fail(where, "Fn::Not takes [condition]")
        return not self._truth(arg[0], (*where, 0))

    def _and(self, arg: Any, where: Where) -> bool:
        return all(self._truth(c, (*where, i)) for i, c in enumerate(self._conditions(arg, where)))

    def _or(self, arg: Any, where: Where) -> bool:
        return any(self._truth(c, (*where, i)) for i, c in enumerate(self._conditions(arg, where)))

    def _conditions(self, arg: Any, where: Where) -> list[Any]:
        if not isinstance(arg, list) or not 2 <= len(arg) <= 10:
            raise self.fail(where, "takes a list of 2 to 10 conditions")
        return arg

    def _truth(self, value: Any, where: Where) -> bool:
        resolved = self.resolve(value, where)
        if not isinstance(resolved, bool):
            raise self.fail(where, "a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or a Condition")
        return resolved

    def condition(self, name: str, where: Where) -> bool:
        if name not in self.conditions:
            raise self.fail(where, f"no condition {name!r} under Conditions")
        value = self.conditions[name]
        if isinstance(value, bool):
            return value
        self.conditions[name] = None  # a condition that refers to itself fails below instead of recursing
        if value is None:
            raise self.fail(("Conditions", name), "this condition refers to itself")
        result = self._truth(value, ("Conditions", name))
        self.conditions[name] = result
        return result
