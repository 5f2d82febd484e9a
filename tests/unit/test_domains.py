"""The custom-domain table: Host lookup and longest-base-path matching (spec §1.13)."""

from __future__ import annotations

import pytest

from apiway.model.base_paths import normalise_base_path
from apiway.runtime.domains import BasePathMapping, DomainRoutes, DomainTable

ROOT = BasePathMapping("", "rootapi", "dev")
V1 = BasePathMapping("v1", "v1api", "dev")
DEEP = BasePathMapping("v1/orders/eu", "deepapi", None)
ROUTES = DomainRoutes("api.example.com", [ROOT, V1, DEEP])


@pytest.mark.parametrize(("path", "mapping", "rest"), [
    ("/v1", V1, ""), ("/v1/", V1, "/"), ("/v1/pets/1", V1, "/pets/1"), ("/v1/orders", V1, "/orders"),
    ("/v1/orders/eu", DEEP, ""), ("/v1/orders/eu/7", DEEP, "/7"), ("/v1/orders/euro", V1, "/orders/euro"),
    ("/", ROOT, ""), ("/v2/x", ROOT, "/v2/x"), ("/v1x", ROOT, "/v1x"), ("//v1", ROOT, "//v1"),
])
def test_longest_base_path_then_none_mapping(path, mapping, rest):
    assert ROUTES.match(path) == (mapping, rest)


def test_without_none_mapping_unmatched_paths_have_no_mapping():
    routes = DomainRoutes("d", [V1])
    assert routes.match("/v2") is None and routes.match("/") is None
    assert DomainRoutes("d", []).match("/v1") is None


def test_host_lookup_drops_port_and_case_and_knows_wildcards():
    wild = DomainRoutes("*.wild.example.com", [ROOT])
    table = DomainTable([ROUTES, wild])
    assert table.lookup("API.example.com:8443") is ROUTES
    assert table.lookup("eu.wild.example.com") is wild
    assert table.lookup("wild.example.com") is None and table.lookup("a.b.wild.example.com") is None
    assert table.lookup("") is None and not DomainTable()


def test_none_spellings_normalise_to_the_whole_path():
    assert normalise_base_path("(none)") == normalise_base_path("") == ""
    assert normalise_base_path("/v1/orders/") == "v1/orders"
