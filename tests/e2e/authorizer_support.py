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


class Jwks:
    """A JWKS endpoint on a thread, counting its fetches; the key pair signs test tokens."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = {**RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True), "kid": "k1", "alg": "RS256", "use": "sig"}
        body = json.dumps({"keys": [jwk]}).encode()
        self.fetches = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, key: rsa.RSAPrivateKey | None = None, **claims: object) -> str:
        now = int(time.time())
        body = {"sub": "u-1", "iss": ISSUER, "token_use": "id", "aud": "client1", "iat": now, "exp": now + 600,
                "email": "alice@example.com", "email_verified": True, "cognito:groups": ["admin", "users"], **claims}
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": "k1"})
