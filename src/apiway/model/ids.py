"""Identifier formats AWS uses: API ids are 10 lowercase alphanumerics, resource and deployment
ids 6 (resource) or 6 (deployment) characters of the same alphabet."""

import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits


def new_id(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_api_id() -> str:
    return new_id(10)


def new_resource_id() -> str:
    return new_id(6)


def new_deployment_id() -> str:
    return new_id(6)
