"""Selection expressions (mapping/selection.py) and WebSocket route selection (runtime/ws_routes.py)."""

from __future__ import annotations

import pytest

from apiway.core.errors import DeployError
from apiway.mapping.selection import SelectionExpression, body_lookup
from apiway.runtime.ws_routes import compile_selector

KEYS = ("$connect", "$disconnect", "$default", "send", "join", "room-join", "1", "true", "chat")


def select(expression: str, message: bytes, text: bool = True) -> str:
    return compile_selector(expression, KEYS, "test")(message, text)


@pytest.mark.parametrize(("message", "key"), [
    (b'{"action": "send"}', "send"),
    (b'{"action": "unknown"}', "$default"),
    (b'{"other": "send"}', "$default"),
    (b'not json', "$default"),
    (b'"send"', "$default"),
    (b'[1]', "$default"),
    (b'{"action": null}', "$default"),
    (b'{"action": {"a": 1}}', "$default"),
    (b'{"action": 1}', "1"),
    (b'{"action": true}', "true"),
    (b'{"action": "$connect"}', "$default"),
    (b'{"action": "$disconnect"}', "$default"),
    (b'{"action": "$default"}', "$default"),
    (b'', "$default"),
])
def test_body_action(message: bytes, key: str) -> None:
    assert select("$request.body.action", message) == key


def test_binary_messages_select_default() -> None:
    assert select("$request.body.action", b'{"action": "send"}', text=False) == "$default"


def test_nested_members() -> None:
    assert select("$request.body.message.type", b'{"message": {"type": "chat"}}') == "chat"
    assert select("$request.body.message.type", b'{"message": "chat"}') == "$default"
    assert select("${request.body.message.type}", b'{"message": {"type": "chat"}}') == "chat"


def test_interpolated_text() -> None:
    expression = "${request.body.service}-${request.body.action}"
    assert select(expression, b'{"service": "room", "action": "join"}') == "room-join"
    assert select(expression, b'{"service": "room"}') == "$default"


def test_literal_expressions() -> None:
    assert select("\\$default", b'{"action": "send"}') == "$default"
    assert select("send", b"anything") == "send"
    assert SelectionExpression("\\$default", "t").literal == "$default"
    assert SelectionExpression("$default", "t").literal == "$default"


def test_evaluation_with_other_variables() -> None:
    expression = SelectionExpression("${integration.response.statuscode}", "t")
    assert expression.variables() == [("integration", "response", "statuscode")]
    lookup = body_lookup({}, lambda path: "200" if path[0] == "integration" else None)
    assert expression.evaluate(lookup) == "200"
    header = SelectionExpression("$request.header.x-api-key", "t")
    assert header.variables() == [("request", "header", "x-api-key")]


def test_invalid_expressions_fail_at_deploy_time() -> None:
    with pytest.raises(DeployError):
        SelectionExpression("${}", "routeSelectionExpression")
    with pytest.raises(DeployError):
        SelectionExpression("$ x", "routeSelectionExpression")
