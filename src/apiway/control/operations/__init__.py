"""One module per group of control-plane operations; importing them registers their handlers."""

from apiway.control.operations import (
    exports,  # noqa: F401
    rest_apis,  # noqa: F401
)
