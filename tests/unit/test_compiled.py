"""The compiled hot path is used only while it matches its sources; pure Python serves the same requests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from apiway import compiled
from tests.support import REPO, Server

WHERE = ("import apiway.compiled as c, apiway.runtime.gateway as g, apiway.front.native as n; "
         "print(g.__file__); print(n.__file__); print(c.state())")


def where(src: Path, **env: str) -> list[str]:
    """Where a fresh interpreter, importing apiway from `src`, takes two compiled modules from, and its state."""
    done = subprocess.run([sys.executable, "-c", WHERE], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(src), **env}, cwd=src)
    return done.stdout.splitlines()


@pytest.fixture
def built() -> None:
    if not compiled.current():
        if os.environ.get("CI"):
            pytest.fail("`make test` builds the compiled hot path first: it is missing or stale")
        pytest.skip("the hot path is not compiled here (`make compiled` builds it)")


def test_the_manifest_must_name_every_source_as_it_is(tmp_path: Path) -> None:
    stamps = [compiled._stamp(module) for module in compiled.MODULES]
    manifest = tmp_path / "compiled.txt"
    assert not compiled.current(str(manifest))  # never built
    manifest.write_text("\n".join(stamps) + "\n")
    assert compiled.current(str(manifest))
    name, size, mtime = stamps[0].split()
    manifest.write_text("\n".join([f"{name} {int(size) + 1} {mtime}", *stamps[1:]]) + "\n")
    assert not compiled.current(str(manifest))  # a source edited since the build
    manifest.write_text("\n".join(stamps[1:]) + "\n")
    assert not compiled.current(str(manifest))  # built for another list of modules


def test_current_extensions_are_imported_and_a_changed_source_turns_them_all_off(built: None,
                                                                                   tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(REPO / "src", src, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))  # keeps mtimes
    gateway, native, state = where(src)
    assert gateway.endswith(".so") and native.endswith(".so") and state.startswith("compiled")

    gateway, native, state = where(src, APIWAY_PURE="1")
    assert gateway.endswith("gateway.py") and native.endswith("native.py") and state == "pure Python"

    edited = src / "apiway" / "runtime" / "gateway.py"
    later = edited.stat().st_mtime_ns + 10**9
    os.utime(edited, ns=(later, later))
    gateway, native, state = where(src)
    # native.py did not change, but its extension calls the others' compiled code directly: none is used
    assert gateway.endswith("gateway.py") and native.endswith("native.py")
    assert state.startswith("pure Python: the compiled modules are older than their sources")


def test_pure_python_serves_the_example_as_the_compiled_path_does(tmp_path: Path) -> None:
    answers = []
    for pure in ("1", ""):
        (tmp_path / pure).mkdir(exist_ok=True)
        server = Server(REPO / "examples" / "petstore" / "apiway.yaml", tmp_path / pure / "state.db",
                        env={"APIWAY_PURE": pure})
        try:
            expected = "compiled" if not pure and compiled.current() else "pure Python"
            assert f"hot path: {expected}" in server.output
            api = server.api_ids["PetStore"]
            health, missing = server.call("GET", api, "dev", "/health"), server.call("GET", api, "dev", "/nope")
            answers.append((health.status, health.json(), missing.status, missing.json()["message"],
                            missing.header("x-amzn-ErrorType")))
        finally:
            server.stop()
    assert answers[0] == answers[1]
    assert answers[0][:2] == (200, {"status": "ok", "stage": "dev", "color": "blue"})
