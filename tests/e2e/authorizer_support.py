"""Shared by the authorizer tests: Lambda authorizer schemes for OpenAPI documents, and a local JWKS
endpoint whose RSA key signs Cognito-style tokens."""

from __future__ import annotations

import http.server
import json
import threading
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

POOL = "us-east-1_TestPool1"
POOL_ARN = f"arn:aws:cognito-idp:us-east-1:123456789012:userpool/{POOL}"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"


def fn_uri(name: str) -> str:
    return (f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
            f"arn:aws:lambda:us-east-1:123456789012:function:{name}/invocations")


def lambda_authorizer(kind: str, function: str, source: str, ttl: int, **extra: str) -> dict:
    return {"type": "apiKey", "name": "Unused", "in": "header", "x-amazon-apigateway-authtype": "custom",
            "x-amazon-apigateway-authorizer": {"type": kind, "authorizerUri": fn_uri(function),
                                               "identitySource": source, "authorizerResultTtlInSeconds": ttl,
                                               **extra}}


class _QuietHandler(http.server.BaseHTTPRequestHandler):
    """A test server's handler: JSON answers, no request log on stderr."""

    def send_json(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Jwks:
    """A JWKS endpoint on a thread, counting its fetches; the key pair signs test tokens."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = {**RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True), "kid": "k1", "alg": "RS256", "use": "sig"}
        body = json.dumps({"keys": [jwk]}).encode()
        self.fetches = 0
        outer = self

        class Handler(_QuietHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                self.send_json(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, key: rsa.RSAPrivateKey | None = None, **claims: object) -> str:
        now = int(time.time())
        body = {"sub": "u-1", "iss": ISSUER, "token_use": "id", "aud": "client1", "iat": now, "exp": now + 600,
                "email": "alice@example.com", "email_verified": True, "cognito:groups": ["admin", "users"], **claims}
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": "k1"})


class OidcProvider:
    """An OpenID Connect issuer on a thread, as HTTP APIs' JWT authorizers find one: its discovery document at
    `{issuer}/.well-known/openid-configuration` names the key set at `{issuer}/keys`. Keys rotate on request
    (`rotate`), fetches of each document are counted, and `stop` makes the issuer unreachable."""

    def __init__(self, issuer_path: str = "/realms/test") -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {"k1": rsa.generate_private_key(public_exponent=65537,
                                                                                key_size=2048)}
        self.fetches = {"discovery": 0, "keys": 0}
        self.served_keys: list[dict] = []  # extra JWKS entries served as they are (other key types, no kid, …)
        self.delay = 0.0  # seconds each answer takes
        outer = self

        class Handler(_QuietHandler):
            def do_GET(self) -> None:
                time.sleep(outer.delay)
                if self.path == f"{issuer_path}/.well-known/openid-configuration":
                    outer.fetches["discovery"] += 1
                    doc: dict = {"issuer": outer.issuer, "jwks_uri": f"{outer.issuer}/keys"}
                elif self.path == f"{issuer_path}/keys":
                    outer.fetches["keys"] += 1
                    doc = {"keys": [*outer.served_keys, *(outer.jwk(kid) for kid in outer.keys)]}
                else:
                    self.send_error(404)
                    return
                self.send_json(json.dumps(doc).encode())

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}{issuer_path}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def jwk(self, kid: str) -> dict:
        return {**RSAAlgorithm.to_jwk(self.keys[kid].public_key(), as_dict=True), "kid": kid, "alg": "RS256",
                "use": "sig"}

    def rotate(self, kid: str, keep: bool = True) -> None:
        """Publish a new key `kid`; without `keep`, the previous keys are withdrawn."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.keys = {**self.keys, kid: key} if keep else {kid: key}

    def token(self, kid: str = "k1", key: rsa.RSAPrivateKey | str | None = None, algorithm: str = "RS256",
              headers: dict | None = None, **claims: object) -> str:
        """A token signed with key `kid` (or `key`); claims given as None are left out."""
        now = int(time.time())
        body = {"iss": self.issuer, "sub": "user-1", "aud": "api-client", "iat": now, "exp": now + 600, **claims}
        body = {name: value for name, value in body.items() if value is not None}
        signing_key = key or self.keys.get(kid) or next(iter(self.keys.values()))
        return jwt.encode(body, signing_key, algorithm=algorithm, headers={"kid": kid, **(headers or {})})

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
