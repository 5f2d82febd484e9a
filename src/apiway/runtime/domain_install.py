"""The domain installer: keeps the gateway's custom domains (and the HTTPS listener's certificates for them)
what the project file and the store say. It follows the store's change events: a change to a domain name,
a base path mapping or a project API's deployed id rebuilds the domain table and swaps it in whole."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from apiway.model.base_paths import normalise_base_path
from apiway.runtime.domains import BasePathMapping, DomainRoutes, DomainTable
from apiway.runtime.gateway import Gateway
from apiway.store.base import Store
from apiway.store.changes import SOURCE, Changed
from apiway.store.kinds import BASE_PATH_MAPPING, DOMAIN_NAME

_KINDS = frozenset({DOMAIN_NAME, BASE_PATH_MAPPING, SOURCE})


@dataclass(frozen=True, slots=True)
class Certificate:
    """Where a domain's certificate comes from: PEM files of the project file, or PEM text the control plane
    stored (certificate body, private key, chain)."""

    files: tuple[Path, Path] | None = None
    pem: tuple[str, str, str | None] | None = None


@dataclass(frozen=True, slots=True)
class ProjectDomain:
    """A custom domain of the project file; each mapping's `api_id` is as written there (an API id, or a
    project API's reference that `project_api_refs` resolves)."""

    name: str
    mappings: list[BasePathMapping]
    certificate: Certificate | None = None


# Takes every domain's certificate, for the HTTPS listener (the wiring knows how to load one).
CertificateSink = Callable[[dict[str, Certificate]], None]


class DomainInstaller:
    def __init__(self, store: Store, gateway: Gateway, project_domains: Sequence[ProjectDomain] = (),
                 project_api_refs: dict[str, str] | None = None, certificates: CertificateSink | None = None) -> None:
        self.store = store
        self.gateway = gateway
        self.project_domains = list(project_domains)
        self.project_api_refs = project_api_refs or {}  # a mapping's `api` → source key of a project API
        self.certificates = certificates  # set when the port serves HTTPS

    def changed(self, changes: Sequence[Changed]) -> None:
        """Store subscription: rebuild when a domain, a mapping or a project API's id changed."""
        if any(change.kind in _KINDS for change in changes):
            self.install()

    def install(self) -> None:
        """Compile the custom domains of the project file and of the control plane (which wins for a name
        in both) into the gateway's domain table, and their certificates into the HTTPS listener's."""
        routes: dict[str, list[BasePathMapping]] = {}
        certificates: dict[str, Certificate] = {}
        for spec in self.project_domains:
            routes[spec.name] = [BasePathMapping(m.base_path, self._project_api_id(m.api_id), m.stage)
                                 for m in spec.mappings]
            if spec.certificate:
                certificates[spec.name] = spec.certificate
        by_domain: dict[str, list[BasePathMapping]] = {}
        for m in self.store.list_records(BASE_PATH_MAPPING):
            by_domain.setdefault(m["_domainName"], []).append(
                BasePathMapping(normalise_base_path(m["basePath"]), m["restApiId"], m.get("stage")))
        for record in self.store.list_records(DOMAIN_NAME):
            name = record["domainName"].lower()
            routes[name] = by_domain.get(record["domainName"], [])
            certificates.pop(name, None)
            if record.get("_certificateBody") and record.get("_certificatePrivateKey"):
                certificates[name] = Certificate(pem=(record["_certificateBody"], record["_certificatePrivateKey"],
                                                      record.get("_certificateChain")))
        self.gateway.install_domains(DomainTable(DomainRoutes(name, m) for name, m in routes.items()))
        if self.certificates is not None:
            self.certificates(certificates)

    def _project_api_id(self, api: str) -> str:
        """A mapping's API: a project API's id as deployed, else the id as written."""
        source = self.project_api_refs.get(api)
        known = self.store.get_source(source) if source is not None else None
        return known[0] if known else api

