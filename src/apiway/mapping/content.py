"""`contentHandling`: converting payloads between binary and base64 text (AWS's payload-encoding
table). A payload is binary when its media type matches the API's binaryMediaTypes."""

from __future__ import annotations

import base64
import binascii

from apiway.core.errors import ConfigurationError


def convert(body: bytes, binary: bool, handling: str | None) -> bytes:
    """CONVERT_TO_TEXT base64-encodes a binary payload; CONVERT_TO_BINARY base64-decodes a text one;
    unset passes either through."""
    if handling == "CONVERT_TO_TEXT" and binary:
        return base64.b64encode(body)
    if handling == "CONVERT_TO_BINARY" and not binary:
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error:
            raise ConfigurationError("Unable to base64 decode the payload for CONVERT_TO_BINARY") from None
    return body
