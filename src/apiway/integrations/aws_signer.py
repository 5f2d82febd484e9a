"""SigV4 signing of requests to AWS services with botocore's signer and its standard credential chain
(environment, shared files, container and instance roles), resolved once, on first use, off the loop."""

from __future__ import annotations

import asyncio

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.session import Session

from apiway.core.errors import ConfigurationError


class Signer:
    __slots__ = ("_credentials", "_resolved")

    def __init__(self) -> None:
        self._credentials: Credentials | None = None
        self._resolved = False

    async def _creds(self) -> Credentials:
        if not self._resolved:
            # The chain may ask an instance-metadata endpoint: that waits, so not on the loop.
            self._credentials = await asyncio.to_thread(lambda: Session().get_credentials())
            self._resolved = True
        if self._credentials is None:
            raise ConfigurationError("Execution failed due to configuration error: no AWS credentials found")
        return self._credentials

    async def sign(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes, signing_name: str,
                   region: str) -> list[tuple[str, str]]:
        """The headers with the signature's added (Host is signed from the URL and must be sent as it)."""
        creds = await self._creds()  # a refreshable chain refreshes as it is read
        request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
        # S3 signs the payload's hash in X-Amz-Content-SHA256 as well.
        auth = S3SigV4Auth if signing_name == "s3" else SigV4Auth
        auth(creds, signing_name, region).add_auth(request)
        return list(request.headers.items())
