"""One module per group of control-plane operations; importing them registers their handlers."""

from apiway.control.operations import (
    account,  # noqa: F401
    api_keys,  # noqa: F401
    authorizers,  # noqa: F401
    client_certificates,  # noqa: F401
    deployments,  # noqa: F401
    documentation,  # noqa: F401
    domain_names,  # noqa: F401
    exports,  # noqa: F401
    gateway_responses,  # noqa: F401
    http_apis,  # noqa: F401
    http_authorizers,  # noqa: F401
    http_deployments,  # noqa: F401
    http_domains,  # noqa: F401
    http_import_export,  # noqa: F401
    http_integration_responses,  # noqa: F401
    http_integrations,  # noqa: F401
    http_models,  # noqa: F401
    http_route_responses,  # noqa: F401
    http_routes,  # noqa: F401
    http_stages,  # noqa: F401
    http_tags,  # noqa: F401
    integrations,  # noqa: F401
    methods,  # noqa: F401
    models,  # noqa: F401
    request_validators,  # noqa: F401
    resources,  # noqa: F401
    rest_apis,  # noqa: F401
    sdks,  # noqa: F401
    stages,  # noqa: F401
    tags,  # noqa: F401
    test_invoke,  # noqa: F401
    test_invoke_authorizer,  # noqa: F401
    usage_plans,  # noqa: F401
    vpc_links,  # noqa: F401
)
