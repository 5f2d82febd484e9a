"""uvicorn's httptools protocol, keeping the client's header-name casing.

ASGI lower-cases header names, but AWS hands Lambda functions the headers as the client wrote
them (`tEsT-HEADeR`). This subclass records the original names beside uvicorn's lower-cased list
and puts them in the scope under `apiway.raw_header_names`; everything else stays uvicorn's.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from apiway.front.asgi import RAW_HEADER_NAMES


class CasePreservingHttpToolsProtocol(HttpToolsProtocol):
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._raw_names: list[bytes] = []
        self.scope[RAW_HEADER_NAMES] = self._raw_names  # type: ignore[literal-required]

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_names.append(name)
        super().on_header(name, value)
