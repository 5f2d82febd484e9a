"""The shipped example project serves what the README promises."""

from __future__ import annotations

from tests.support import REPO, request


def test_example_serves_mock_lambda_and_routes(serve):
    server = serve(REPO / "examples" / "petstore" / "apiway.yaml")
    api = server.api_ids["PetStore"]
    assert "execute-api.localhost" in server.output and "/_user_request_" in server.output

    health = server.call("GET", api, "dev", "/health")
    assert health.status == 200
    assert health.json() == {"status": "ok", "stage": "dev", "color": "blue"}

    pets = server.call("GET", api, "dev", "/pets?type=cat")
    assert pets.status == 200
    assert [p["name"] for p in pets.json()["pets"]] == ["Tom"]
    assert pets.json()["requestId"] == pets.header("x-amzn-RequestId")

    created = server.call("POST", api, "dev", "/pets", body='{"type": "fish", "name": "Nemo"}')
    assert created.status == 201 and created.json()["name"] == "Nemo"
    fetched = server.call("GET", api, "dev", f"/pets/{created.json()['id']}")
    assert fetched.json()["name"] == "Nemo"  # the warm function kept its module state

    missing = server.call("GET", api, "dev", "/nothing-here")
    assert missing.status == 404  # the example customises MISSING_AUTHENTICATION_TOKEN
    assert missing.header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"
    assert missing.header("Access-Control-Allow-Origin") == "*"
    assert missing.json()["requestId"] == missing.header("x-amzn-RequestId")

    via_path = request(server.port, "GET", server.path_url(api, "dev", "/health"))
    assert via_path.status == 200 and via_path.json() == health.json()
