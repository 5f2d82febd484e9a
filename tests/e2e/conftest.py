from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.authorizer_support import Jwks, OidcProvider
from tests.e2e.echo_backend import EchoServer


@pytest.fixture(scope="module")
def backend() -> Iterator[EchoServer]:
    """A real local HTTP backend that echoes what it received (see echo_backend.py)."""
    server = EchoServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def jwks() -> Iterator[Jwks]:
    """A local JWKS endpoint for Cognito authorizer tests."""
    server = Jwks()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def issuer() -> Iterator[OidcProvider]:
    """A local OpenID Connect issuer (discovery document and JWKS) for JWT authorizer tests."""
    provider = OidcProvider()
    yield provider
    provider.stop()
