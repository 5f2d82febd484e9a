"""nginx in front of the test cluster, configured by the file the deployment ships (deploy/nginx.conf) with
the test's own ports. Missing nginx (or wrk) is installed once from the distribution's packages; when that
cannot be done the tests skip saying why, and in CI they fail."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import REPO, free_port

SHIPPED = REPO / "deploy" / "nginx.conf"
PACKAGES = ("nginx-light", "nginx")  # Debian's small build first; either has the proxy and map modules


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def nginx_binary() -> str:
    """The nginx executable, installed with apt-get when the machine has none."""
    return installed("nginx", PACKAGES)


def installed(name: str, packages: tuple[str, ...], path: str | None = None) -> str:
    """The executable `name` (at `path` when given: the distribution's own, not another on PATH), installed from the
    first of `packages` that apt-get can install when missing."""
    if path is not None:
        found: str | None = path if os.access(path, os.X_OK) else None
    else:
        found = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}",) if os.access(p, os.X_OK)), None)
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        _unavailable(f"{name} is not installed and cannot be installed here (needs root and apt-get): install "
                     f"{' or '.join(packages)} to run the cluster tests")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    errors = []
    for package in packages:
        command = ["apt-get", "install", "-y", "--no-install-recommends", package]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0 and "Unable to locate package" in done.stderr:  # no package lists yet
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=300)
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        where = path or shutil.which(name) or f"/usr/sbin/{name}"
        if done.returncode == 0 and os.access(where, os.X_OK):
            return where
        errors.append(f"{package}: {done.stderr.strip()[-300:]}")
    _unavailable(f"{name} could not be installed for the cluster tests: " + "; ".join(errors))
    raise AssertionError("unreachable")


def render(upstreams: list[int], port: int) -> str:
    """deploy/nginx.conf with the nodes on loopback ports and the balancer on `port`."""
    text = SHIPPED.read_text()
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=3s;\n" for p in upstreams)
    text, count = re.subn(r"(upstream apiway \{\n(?:\s*#.*\n)*)(?:\s*server .*\n)+", lambda m: m.group(1) + servers,
                          text)
    assert count == 1, "deploy/nginx.conf has no `upstream apiway` block of server lines"
    text, count = re.subn(r"listen 8080;", f"listen 127.0.0.1:{port};", text)
    assert count == 1, "deploy/nginx.conf does not listen on 8080"
    return text


class Nginx:
    """A foreground nginx with its own prefix directory, balancing over `upstreams`."""

    def __init__(self, binary: str, directory: Path, upstreams: list[int]) -> None:
        self.port = free_port()
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "apiway.conf").write_text(render(upstreams, self.port))
        temp = directory / "temp"
        temp.mkdir(exist_ok=True)
        (directory / "nginx.conf").write_text(f"""daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {directory}/apiway.conf;
}}
""")
        self.proc = subprocess.Popen([binary, "-p", str(directory), "-c", str(directory / "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited {self.proc.returncode}: {self.errors()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not start: {self.errors()}")

    def errors(self) -> str:
        log = self.directory / "error.log"
        return log.read_text() if log.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGQUIT)  # graceful: finish what is in flight
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
