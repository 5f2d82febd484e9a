"""`runtime: nodejs` in the project file: the runtime names it accepts, the handler's form, and the mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from apiway.config import load_project
from apiway.model.documents import DocumentError


def project(tmp_path: Path, function: str) -> Path:
    path = tmp_path / "apiway.yaml"
    path.write_text(f"functions:\n  Fn: {function}\n")
    return path


@pytest.mark.parametrize("runtime", ["nodejs", "nodejs18.x", "nodejs20.x", "nodejs22.x"])
def test_node_runtimes(tmp_path: Path, runtime: str) -> None:
    spec = load_project(project(tmp_path, f"{{runtime: {runtime}, handler: src/app.handler}}")).functions[0]
    assert (spec.runtime, spec.handler, spec.mode) == ("nodejs", "src/app.handler", "worker")


@pytest.mark.parametrize(("function", "expected"), [
    ("{runtime: nodejs20.x, handler: app.py:handler}", "functions.Fn.handler: required, like 'functions/pets.handler'"),
    ("{runtime: nodejs, handler: src.v2/app}", "functions.Fn.handler: required, like 'functions/pets.handler'"),
    ("{runtime: nodejs, handler: app.handler, mode: inline}", "(worker for runtime nodejs), got 'inline'"),
    ("{runtime: java21, handler: app.handler}", "functions.Fn.runtime: must be python, nodejs or provided"),
])
def test_node_function_errors(tmp_path: Path, function: str, expected: str) -> None:
    with pytest.raises(DocumentError) as info:
        load_project(project(tmp_path, function))
    assert expected in str(info.value), str(info.value)
