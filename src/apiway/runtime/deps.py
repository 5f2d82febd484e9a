"""What compiling a stage needs besides its records: the function runner, the upstream pool and the
shared state the checks use. Built once by the app; a lenient copy serves APIs made through the
control plane."""

from __future__ import annotations

from dataclasses import dataclass, field

from apiway.auth.authorizer_cache import AuthorizerCache
from apiway.auth.http_authorizers import HttpAuthorizerDeps
from apiway.auth.identities import Identities
from apiway.checks.response_cache import ResponseCaches
from apiway.core.clock import SYSTEM_CLOCK, Clock
from apiway.functions.base import FunctionInvoker
from apiway.integrations.aws_services import AwsServices
from apiway.integrations.upstream import UpstreamPool
from apiway.state.api_keys import AccessState
from apiway.state.base import SharedState
from apiway.telemetry.hub import Telemetry


@dataclass(slots=True)
class CompileDeps:
    invoker: FunctionInvoker
    pool: UpstreamPool
    # Project files fail at deploy time on what AWS accepts and fails only when called (an unknown
    # function, an HTTP URI a missing stage variable left invalid); APIs made through the control
    # plane deploy as on AWS and such a method answers 500.
    strict: bool = True
    clock: Clock = SYSTEM_CLOCK  # the one clock of the data plane; the shared state below reads the same one
    # Shared state the per-method checks use; each check is handed only its own.
    authorizer_cache: AuthorizerCache | None = None
    access: AccessState | None = None
    identities: Identities | None = None
    state: SharedState | None = None  # throttle buckets (stage, method, account), shared across requests
    caches: ResponseCaches | None = None  # every stage's response cache
    # HTTP API routes' authorizers (JWT, Lambda, AWS_IAM); None: such routes do not deploy.
    http_authorizers: HttpAuthorizerDeps | None = None
    # What observes stages (logs, metrics, traces); None: nothing does.
    telemetry: Telemetry | None = None
    # Where AWS service integrations (other than Lambda) send their requests, and their signer.
    aws: AwsServices = field(default_factory=AwsServices)
