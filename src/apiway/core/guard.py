"""The per-method check (guard) seam: a check is compiled once from its site and runs on each request
before the integration, rejecting by raising a GatewayError. Checks that need not wait are plain calls
returning None (an `await` per check would cost more than most checks); only one that must wait (an
authorizer's cache miss) returns an awaitable."""

from __future__ import annotations

from dataclasses import dataclass, field

from apiway.core.invocation import Guard
from apiway.model.method_settings import MethodSettings
from apiway.model.rest import ApiDefinition, Method, Resource, Stage

__all__ = ["Guard", "GuardSite"]


@dataclass(slots=True)
class GuardSite:
    """Everything a REST check may compile from: the deployed API, the stage, the method and its settings."""

    definition: ApiDefinition
    stage: Stage
    resource: Resource
    http_method: str
    method: Method
    where: str  # "/pets/{id} GET", for deploy-time errors
    settings: MethodSettings = field(default_factory=MethodSettings)  # its stage's methodSettings, typed
