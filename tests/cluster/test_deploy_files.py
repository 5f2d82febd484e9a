"""The deployment files agree with apiway and with each other: every `apiway serve` they run is one the
command accepts, probes ask the health and readiness endpoints on the port that serves them, the balancer's
upstreams are the gateway nodes, and every secret they read is defined."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from apiway.cli import _parser
from apiway.front.native import SHUTDOWN_GRACE
from tests.support import REPO

DEPLOY = REPO / "deploy"


def _accepted(args: list[str]) -> None:
    """`apiway ARGS` parses (argparse exits on an unknown option or a bad value)."""
    args = [re.sub(r"\$\{[^}]*\}|\$\([A-Z_]+\)", "x", arg) for arg in args]  # compose / Kubernetes variables
    try:
        parsed = _parser().parse_args(args)
    except SystemExit:
        pytest.fail(f"apiway does not accept: {shlex.join(args)}")
    assert parsed.command == "serve"


def test_the_dockerfile_runs_a_serve_apiway_accepts() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    command = yaml.safe_load(re.search(r"^CMD (\[.*\])$", text, re.M).group(1))
    _accepted(command)
    assert "/_apiway/health" in text
    exposed = set(re.search(r"^EXPOSE (.*)$", text, re.M).group(1).split())
    assert {"8080", "9090"} <= exposed and "--port" in command and "--admin-port" in command


def test_the_compose_file_runs_three_nodes_behind_nginx() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    nodes = sorted(name for name in services if name.startswith("apiway-"))
    assert nodes == ["apiway-1", "apiway-2", "apiway-3"]
    for name in nodes:
        _accepted(services[name]["command"])
        assert "APIWAY_ADMIN_SECRET_ACCESS_KEY" in services[name]["environment"]
        assert "postgresql://" in services[name]["environment"]["APIWAY_STORE"]
    # Only the balancer's port is public; the control plane is published on loopback only.
    assert services["nginx"]["ports"] == ["8080:8080"]
    assert all(p.startswith("127.0.0.1:") for name in nodes for p in services[name].get("ports", []))
    mount = services["nginx"]["volumes"][0].split(":")[0]
    conf = (DEPLOY / mount).read_text()
    assert re.findall(r"server (apiway-\d):8080", conf) == nodes and "listen 8080;" in conf
    pause = float(next(a for a in services["apiway-1"]["command"] if a.startswith("--drain-delay=")).partition("=")[2])
    assert int(services["apiway-1"]["stop_grace_period"].rstrip("s")) > pause + SHUTDOWN_GRACE


def _documents():
    kustomization = yaml.safe_load((DEPLOY / "kubernetes" / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        yield from yaml.safe_load_all((DEPLOY / "kubernetes" / resource).read_text())


def test_the_kubernetes_manifests_probe_drain_and_read_defined_secrets() -> None:
    documents = list(_documents())
    kinds = {(d["kind"], d["metadata"]["name"]) for d in documents}
    assert {("Deployment", "apiway"), ("Service", "apiway"), ("Service", "apiway-admin"), ("Secret", "apiway"),
            ("StatefulSet", "postgres"), ("StatefulSet", "redis"), ("PodDisruptionBudget", "apiway")} <= kinds
    secret = next(d for d in documents if d["kind"] == "Secret")
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    _accepted(container["args"])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert f"--port={ports['gateway']}" in container["args"] and f"--admin-port={ports['admin']}" in container["args"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/_apiway/health", "port": "gateway"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/_apiway/ready", "port": "gateway"}
    pause = float(next(a for a in container["args"] if a.startswith("--drain-delay=")).partition("=")[2])
    assert pod["terminationGracePeriodSeconds"] > pause + SHUTDOWN_GRACE
    for document in documents:  # every secret any container reads is defined
        if document["kind"] in ("Deployment", "StatefulSet"):
            for c in document["spec"]["template"]["spec"]["containers"]:
                for env in c.get("env", []):
                    ref = env.get("valueFrom", {}).get("secretKeyRef")
                    assert ref is None or ref["key"] in secret["stringData"], ref
    services = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Service"}
    assert services["apiway"]["spec"]["ports"][0]["targetPort"] == "gateway"
    assert services["apiway-admin"]["spec"]["ports"][0]["targetPort"] == "admin"
