from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from tests.conformance.control_plane import VERIFIED_ERRORS
from tests.support import Server


@pytest.fixture(scope="module")
def unchecked(apigw_server: Server):
    """A boto3 client that sends what it is given (no client-side checks), as the recordings' wrongly
    typed inputs need."""
    return boto3.client("apigateway", endpoint_url=f"http://127.0.0.1:{apigw_server.port}", region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(parameter_validation=False, retries={"max_attempts": 1}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if VERIFIED_ERRORS:
        terminalreporter.write_line(
            f"AWS-recorded control-plane errors matched: {len(VERIFIED_ERRORS)} distinct (snapshot keys)")
