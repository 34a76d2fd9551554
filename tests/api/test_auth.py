"""Authentication and tenant selection: X-Tenant-ID, bearer JWTs (HS256 secret or RS256/ES256 from JWKS), the CLI."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from ask_panel.cli.main import is_loopback, main
from ask_panel.config import Settings
from ask_panel.infrastructure.auth import InvalidJwt, JwtVerifier, mint_jwt
from tests.conftest import JWT_SECRET, TENANT_A, TENANT_B, headers_for, make_settings
from tests.conftest import serving as serving_both

PANEL_BODY = {"query": "What is our FDA 510(k) strategy?", "panel_type": "structured", "agent_ids": ["fda_expert"]}
AGENT_BODY = {"agent_id": "auth_probe", "name": "Probe", "role": "Tester", "instructions": "Probe."}
SOME_PANEL = "99999999-9999-4999-8999-999999999999"

# Every /api/v1 HTTP endpoint: (method, path, json body). Authentication happens before the panel is looked up.
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/panels", None),
    ("POST", "/api/v1/panels", PANEL_BODY),
    ("GET", f"/api/v1/panels/{SOME_PANEL}", None),
    ("POST", f"/api/v1/panels/{SOME_PANEL}/execute", None),
    ("DELETE", f"/api/v1/panels/{SOME_PANEL}", None),
    ("POST", f"/api/v1/panels/{SOME_PANEL}/stream", None),
    ("GET", f"/api/v1/panels/{SOME_PANEL}/stream", None),
    ("POST", f"/api/v1/panels/{SOME_PANEL}/stream-ticket", None),
    ("GET", "/api/v1/agents", None),
    ("POST", "/api/v1/agents", AGENT_BODY),
    ("GET", "/api/v1/agents/fda_expert", None),
]
ENDPOINT_IDS = [f"{method} {path.replace(SOME_PANEL, '{id}')}" for method, path, _ in ENDPOINTS]


# --- helpers -----------------------------------------------------------------------------------------------------


def claims_for(*tenants: str, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": "tester", "iat": now, "exp": now + 600}
    if len(tenants) == 1:
        claims["tenant_id"] = tenants[0]
    elif tenants:
        claims["tenant_ids"] = list(tenants)
    claims.update(extra)
    return claims


def hs256(claims: dict[str, Any], secret: str = JWT_SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade_token(header: dict[str, Any], claims: dict[str, Any], *, hmac_key: bytes | None = None) -> str:
    """A JWT built by hand (PyJWT refuses to make `alg: none` tokens or to use a PEM key as an HMAC secret)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = b"" if hmac_key is None else hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def bearer(tenant: str, token: str) -> dict[str, str]:
    return {"X-Tenant-ID": tenant, "Authorization": f"Bearer {token}"}


def assert_unauthorized(response: httpx2.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 401


async def call(
    client: httpx2.AsyncClient, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
) -> httpx2.Response:
    return await client.request(method, path, json=body, headers=headers)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx2.AsyncClient]:
    """An ASGI client over a container built from `settings` (for auth configurations other than the default)."""
    async with serving_both(settings) as (_container, client):
        yield client


# --- X-Tenant-ID ---------------------------------------------------------------------------------------------------


async def test_a_valid_hs256_token_for_the_tenant_is_accepted(client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/v1/panels", headers=headers_for(TENANT_A))
    assert response.status_code == 200
    assert response.json()["total"] == 0


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=ENDPOINT_IDS)
async def test_every_endpoint_without_x_tenant_id_is_a_400(
    client: httpx2.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    token = mint_jwt(JWT_SECRET, [TENANT_A])
    response = await call(client, method, path, body, {"Authorization": f"Bearer {token}"})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "X-Tenant-ID" in response.json()["detail"]


@pytest.mark.parametrize("tenant", ["not-a-uuid", "1234", "11111111-1111-1111-1111-11111111111", "tenant-a", " "])
async def test_a_malformed_x_tenant_id_is_a_400(client: httpx2.AsyncClient, tenant: str) -> None:
    response = await client.get("/api/v1/panels", headers={**headers_for(TENANT_A), "X-Tenant-ID": tenant})
    assert response.status_code == 400, response.text
    assert response.json()["title"] == "Bad request"


async def test_a_missing_tenant_is_a_400_even_without_a_token(client: httpx2.AsyncClient) -> None:
    response = await client.get("/api/v1/panels")
    assert response.status_code == 400


async def test_an_upper_case_tenant_header_names_the_same_tenant(client: httpx2.AsyncClient) -> None:
    tenant = "abcdefab-cdef-4abc-8def-abcdefabcdef"
    response = await client.get("/api/v1/panels", headers=bearer(tenant.upper(), mint_jwt(JWT_SECRET, [tenant])))
    assert response.status_code == 200


# --- 401: no, malformed, expired, unsigned or badly signed tokens ------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=ENDPOINT_IDS)
async def test_every_endpoint_without_a_token_is_a_401_with_www_authenticate(
    client: httpx2.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    assert_unauthorized(await call(client, method, path, body, {"X-Tenant-ID": TENANT_A}))


@pytest.mark.parametrize(
    "authorization",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token abc.def.ghi", "Bearer not-a-jwt", "Bearer a.b.c"],
)
async def test_a_malformed_authorization_header_is_a_401(client: httpx2.AsyncClient, authorization: str) -> None:
    response = await client.get("/api/v1/panels", headers={"X-Tenant-ID": TENANT_A, "Authorization": authorization})
    assert_unauthorized(response)


async def test_the_bearer_scheme_is_case_insensitive(client: httpx2.AsyncClient) -> None:
    token = mint_jwt(JWT_SECRET, [TENANT_A])
    response = await client.get("/api/v1/panels", headers={"X-Tenant-ID": TENANT_A, "Authorization": f"bearer {token}"})
    assert response.status_code == 200


async def test_an_expired_token_is_a_401_with_www_authenticate(client: httpx2.AsyncClient) -> None:
    expired = hs256(claims_for(TENANT_A, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600))
    response = await client.get("/api/v1/panels", headers=bearer(TENANT_A, expired))
    assert_unauthorized(response)
    assert "expired" in response.json()["detail"]


async def test_a_token_without_exp_is_a_401(client: httpx2.AsyncClient) -> None:
    claims = claims_for(TENANT_A)
    del claims["exp"]
    assert_unauthorized(await client.get("/api/v1/panels", headers=bearer(TENANT_A, hs256(claims))))


async def test_a_token_with_a_non_numeric_exp_is_a_401(client: httpx2.AsyncClient) -> None:
    token = hs256(claims_for(TENANT_A, exp="tomorrow"))
    assert_unauthorized(await client.get("/api/v1/panels", headers=bearer(TENANT_A, token)))


async def test_a_token_signed_with_another_secret_is_a_401(client: httpx2.AsyncClient) -> None:
    token = hs256(claims_for(TENANT_A), secret="another-secret-0123456789-0123456789-xyz")
    assert_unauthorized(await client.get("/api/v1/panels", headers=bearer(TENANT_A, token)))


async def test_a_token_whose_claims_were_altered_after_signing_is_a_401(client: httpx2.AsyncClient) -> None:
    header, _, signature = mint_jwt(JWT_SECRET, [TENANT_B]).split(".")
    forged_claims = _b64(json.dumps(claims_for(TENANT_A)).encode())
    forged = f"{header}.{forged_claims}.{signature}"
    assert_unauthorized(await client.get("/api/v1/panels", headers=bearer(TENANT_A, forged)))


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
async def test_an_unsigned_alg_none_token_is_a_401(client: httpx2.AsyncClient, alg: str) -> None:
    token = handmade_token({"alg": alg, "typ": "JWT"}, claims_for(TENANT_A))
    assert_unauthorized(await client.get("/api/v1/panels", headers=bearer(TENANT_A, token)))


async def test_an_unsigned_token_reusing_a_valid_signature_is_a_401(client: httpx2.AsyncClient) -> None:
    _, claims, signature = mint_jwt(JWT_SECRET, [TENANT_A]).split(".")
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    assert_unauthorized(await client.get("/api/v1/panels", headers=bearer(TENANT_A, f"{header}.{claims}.{signature}")))


@pytest.mark.parametrize("alg", ["HS384", "HS512", "RS256", "ES256", "PS256"])
async def test_algorithms_that_are_not_configured_are_a_401(client: httpx2.AsyncClient, alg: str) -> None:
    """With only a shared secret configured, HS256 is the one algorithm accepted."""
    token = handmade_token({"alg": alg, "typ": "JWT"}, claims_for(TENANT_A), hmac_key=JWT_SECRET.encode())
    assert_unauthorized(await client.get("/api/v1/panels", headers=bearer(TENANT_A, token)))


# --- 403: a valid token for other tenants --------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=ENDPOINT_IDS)
async def test_every_endpoint_with_a_token_for_another_tenant_is_a_403(
    client: httpx2.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = await call(client, method, path, body, bearer(TENANT_A, mint_jwt(JWT_SECRET, [TENANT_B])))
    assert response.status_code == 403, response.text
    assert response.json()["title"] == "Forbidden"
    assert "WWW-Authenticate" not in response.headers


async def test_a_tenant_ids_claim_grants_every_listed_tenant(client: httpx2.AsyncClient) -> None:
    token = hs256(claims_for(TENANT_A, TENANT_B))
    assert set(jwt.decode(token, JWT_SECRET, algorithms=["HS256"])["tenant_ids"]) == {TENANT_A, TENANT_B}
    for tenant in (TENANT_A, TENANT_B):
        assert (await client.get("/api/v1/panels", headers=bearer(tenant, token))).status_code == 200
    other = str(uuid.uuid4())
    assert (await client.get("/api/v1/panels", headers=bearer(other, token))).status_code == 403


async def test_tenant_id_and_tenant_ids_claims_are_combined(client: httpx2.AsyncClient) -> None:
    token = hs256(claims_for(tenant_id=TENANT_A, tenant_ids=[TENANT_B]))
    for tenant in (TENANT_A, TENANT_B):
        assert (await client.get("/api/v1/panels", headers=bearer(tenant, token))).status_code == 200


async def test_tenant_claims_match_regardless_of_case(client: httpx2.AsyncClient) -> None:
    tenant = "abcdefab-cdef-4abc-8def-abcdefabcdef"
    token = hs256(claims_for(tenant.upper()))
    assert (await client.get("/api/v1/panels", headers=bearer(tenant, token))).status_code == 200


@pytest.mark.parametrize(
    "grants",
    [
        {},
        {"tenant_id": [TENANT_A]},
        {"tenant_ids": TENANT_A},
        {"tenant_id": 1111},
        {"tenant_ids": [None, 42]},
        {"tenant": TENANT_A},
        {"sub": TENANT_A},
    ],
    ids=["none", "tenant_id-as-list", "tenant_ids-as-string", "tenant_id-number", "tenant_ids-junk", "other", "sub"],
)
async def test_a_token_without_a_well_formed_grant_for_the_tenant_is_a_403(
    client: httpx2.AsyncClient, grants: dict[str, Any]
) -> None:
    token = hs256(claims_for(**grants))
    response = await client.get("/api/v1/panels", headers=bearer(TENANT_A, token))
    assert response.status_code == 403, response.text


# --- audience and issuer ---------------------------------------------------------------------------------------------

AUDIENCE = "ask-panel-api"
ISSUER = "https://issuer.example.test/"


@pytest.fixture
async def strict_client(database_url: str) -> AsyncIterator[httpx2.AsyncClient]:
    async with serving(make_settings(database_url, jwt_audience=AUDIENCE, jwt_issuer=ISSUER)) as client:
        yield client


async def test_with_audience_and_issuer_configured_a_matching_token_is_accepted(
    strict_client: httpx2.AsyncClient,
) -> None:
    token = mint_jwt(JWT_SECRET, [TENANT_A], audience=AUDIENCE, issuer=ISSUER)
    assert (await strict_client.get("/api/v1/panels", headers=bearer(TENANT_A, token))).status_code == 200
    listed = hs256(claims_for(TENANT_A, aud=["other-api", AUDIENCE], iss=ISSUER))
    assert (await strict_client.get("/api/v1/panels", headers=bearer(TENANT_A, listed))).status_code == 200


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": ISSUER},
        {"aud": "other-api", "iss": ISSUER},
        {"aud": [], "iss": ISSUER},
        {"aud": AUDIENCE},
        {"aud": AUDIENCE, "iss": "https://evil.example.test/"},
    ],
    ids=["no-aud", "wrong-aud", "empty-aud", "no-iss", "wrong-iss"],
)
async def test_with_audience_and_issuer_configured_a_token_missing_or_mismatching_them_is_a_401(
    strict_client: httpx2.AsyncClient, claims: dict[str, Any]
) -> None:
    token = hs256(claims_for(TENANT_A, **claims))
    assert_unauthorized(await strict_client.get("/api/v1/panels", headers=bearer(TENANT_A, token)))


async def test_without_a_configured_audience_a_token_for_some_audience_is_refused(client: httpx2.AsyncClient) -> None:
    meant_for_another_api = hs256(claims_for(TENANT_A, aud="whatever-api"))
    response = await client.get("/api/v1/panels", headers=bearer(TENANT_A, meant_for_another_api))
    assert response.status_code == 401


async def test_without_a_configured_issuer_any_issuer_is_accepted(client: httpx2.AsyncClient) -> None:
    token = hs256(claims_for(TENANT_A, iss="https://anyone.example.test/"))
    assert (await client.get("/api/v1/panels", headers=bearer(TENANT_A, token))).status_code == 200


def test_production_refuses_auth_none_and_a_jwks_without_audience(database_url: str) -> None:
    from pydantic import ValidationError

    real_model = {"environment": "production", "llm_provider": "openai"}  # the simulated one is refused too
    with pytest.raises(ValidationError, match="ASK_PANEL_AUTH_MODE=none is for development"):
        make_settings(database_url, auth_mode="none", jwt_secret="x" * 40, **real_model)
    with pytest.raises(ValidationError, match="ASK_PANEL_JWT_AUDIENCE is required"):
        make_settings(database_url, jwt_secret=None, jwks_url="http://127.0.0.1:1/jwks", **real_model)


# --- RS256 / ES256 from a JWKS URL -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    rsa: RSAPrivateKey
    ec: EllipticCurvePrivateKey
    stranger_rsa: RSAPrivateKey
    stranger_ec: EllipticCurvePrivateKey

    @property
    def rsa_public_pem(self) -> bytes:
        return self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwks(self) -> dict[str, Any]:
        rsa_jwk = RSAAlgorithm.to_jwk(self.rsa.public_key(), as_dict=True)
        ec_jwk = ECAlgorithm.to_jwk(self.ec.public_key(), as_dict=True)
        return {
            "keys": [
                {**rsa_jwk, "kid": "rsa-1", "use": "sig", "alg": "RS256"},
                {**ec_jwk, "kid": "ec-1", "use": "sig", "alg": "ES256"},
                {**rsa_jwk, "kid": "rsa-no-alg"},  # "alg" is optional in a JWK: the key type implies RS256
                {**ec_jwk, "kid": "ec-no-alg"},
            ]
        }


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(
        rsa=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ec=ec.generate_private_key(ec.SECP256R1()),
        stranger_rsa=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        stranger_ec=ec.generate_private_key(ec.SECP256R1()),
    )


@pytest.fixture(scope="module")
def jwks_url(keys: Keys) -> Iterator[str]:
    """A JWKS document served over HTTP on 127.0.0.1 from a background thread."""
    document = json.dumps(keys.jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/.well-known/jwks.json":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="jwks-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
async def jwks_client(database_url: str, jwks_url: str) -> AsyncIterator[httpx2.AsyncClient]:
    """JWT auth with keys from the JWKS URL only (no shared secret)."""
    async with serving(make_settings(database_url, jwks_url=jwks_url, jwt_secret=None)) as client:
        yield client


@pytest.fixture
async def jwks_and_secret_client(database_url: str, jwks_url: str) -> AsyncIterator[httpx2.AsyncClient]:
    """JWT auth with both the shared secret and the JWKS URL."""
    async with serving(make_settings(database_url, jwks_url=jwks_url)) as client:
        yield client


def rs256(keys: Keys, claims: dict[str, Any], *, kid: str = "rsa-1", key: rsa.RSAPrivateKey | None = None) -> str:
    return jwt.encode(claims, key or keys.rsa, algorithm="RS256", headers={"kid": kid})


def es256(
    keys: Keys, claims: dict[str, Any], *, kid: str = "ec-1", key: ec.EllipticCurvePrivateKey | None = None
) -> str:
    return jwt.encode(claims, key or keys.ec, algorithm="ES256", headers={"kid": kid})


async def test_jwks_settings_leave_no_shared_secret(database_url: str, jwks_url: str) -> None:
    settings = make_settings(database_url, jwks_url=jwks_url, jwt_secret=None)
    assert settings.jwt_secret is None
    assert JwtVerifier(secret=None, jwks_url=jwks_url).allowed_algorithms == ("RS256", "ES256")


async def test_a_valid_rs256_token_from_the_jwks_is_accepted(jwks_client: httpx2.AsyncClient, keys: Keys) -> None:
    response = await jwks_client.get("/api/v1/panels", headers=bearer(TENANT_A, rs256(keys, claims_for(TENANT_A))))
    assert response.status_code == 200, response.text


async def test_a_valid_es256_token_from_the_jwks_is_accepted(jwks_client: httpx2.AsyncClient, keys: Keys) -> None:
    response = await jwks_client.get("/api/v1/panels", headers=bearer(TENANT_A, es256(keys, claims_for(TENANT_A))))
    assert response.status_code == 200, response.text


async def test_jwks_keys_published_without_alg_verify_tokens_of_their_type(
    jwks_client: httpx2.AsyncClient, keys: Keys
) -> None:
    for token in (
        rs256(keys, claims_for(TENANT_A), kid="rsa-no-alg"),
        es256(keys, claims_for(TENANT_A), kid="ec-no-alg"),
    ):
        response = await jwks_client.get("/api/v1/panels", headers=bearer(TENANT_A, token))
        assert response.status_code == 200, response.text
    mismatched = es256(keys, claims_for(TENANT_A), kid="rsa-no-alg")
    assert_unauthorized(await jwks_client.get("/api/v1/panels", headers=bearer(TENANT_A, mismatched)))


async def test_a_jwks_token_grants_only_its_tenants(jwks_client: httpx2.AsyncClient, keys: Keys) -> None:
    token = rs256(keys, claims_for(TENANT_B))
    assert (await jwks_client.get("/api/v1/panels", headers=bearer(TENANT_A, token))).status_code == 403
    assert (await jwks_client.get("/api/v1/panels", headers=bearer(TENANT_B, token))).status_code == 200


async def test_a_token_signed_by_an_unknown_key_is_a_401(jwks_client: httpx2.AsyncClient, keys: Keys) -> None:
    impostors = [
        rs256(keys, claims_for(TENANT_A), key=keys.stranger_rsa),  # the published kid, another key
        es256(keys, claims_for(TENANT_A), key=keys.stranger_ec),
        rs256(keys, claims_for(TENANT_A), kid="rsa-2", key=keys.stranger_rsa),  # a kid that is not published
        es256(keys, claims_for(TENANT_A), kid="unknown"),
        jwt.encode(claims_for(TENANT_A), keys.rsa, algorithm="RS256"),  # no kid at all
    ]
    for token in impostors:
        assert_unauthorized(await jwks_client.get("/api/v1/panels", headers=bearer(TENANT_A, token)))


async def test_a_kid_naming_a_key_of_another_type_is_a_401(jwks_client: httpx2.AsyncClient, keys: Keys) -> None:
    """The key a kid names must fit the token's algorithm (not a 500)."""
    for token in (rs256(keys, claims_for(TENANT_A), kid="ec-1"), es256(keys, claims_for(TENANT_A), kid="rsa-1")):
        assert_unauthorized(await jwks_client.get("/api/v1/panels", headers=bearer(TENANT_A, token)))


async def test_an_expired_rs256_token_is_a_401(jwks_client: httpx2.AsyncClient, keys: Keys) -> None:
    token = rs256(keys, claims_for(TENANT_A, exp=int(time.time()) - 3600))
    assert_unauthorized(await jwks_client.get("/api/v1/panels", headers=bearer(TENANT_A, token)))


async def test_an_rs256_token_without_exp_is_a_401(jwks_client: httpx2.AsyncClient, keys: Keys) -> None:
    claims = claims_for(TENANT_A)
    del claims["exp"]
    assert_unauthorized(await jwks_client.get("/api/v1/panels", headers=bearer(TENANT_A, rs256(keys, claims))))


async def test_an_hs256_token_signed_with_the_rsa_public_key_is_a_401(
    jwks_client: httpx2.AsyncClient, keys: Keys
) -> None:
    """Algorithm confusion: the public key PEM used as an HMAC secret must never verify."""
    for kid in ("rsa-1", None):
        header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
        token = handmade_token(header, claims_for(TENANT_A), hmac_key=keys.rsa_public_pem)
        assert_unauthorized(await jwks_client.get("/api/v1/panels", headers=bearer(TENANT_A, token)))


async def test_with_only_a_jwks_url_hs256_tokens_are_a_401(jwks_client: httpx2.AsyncClient) -> None:
    assert_unauthorized(await jwks_client.get("/api/v1/panels", headers=headers_for(TENANT_A)))


async def test_alg_none_is_a_401_with_jwks_configured(jwks_client: httpx2.AsyncClient) -> None:
    token = handmade_token({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, claims_for(TENANT_A))
    assert_unauthorized(await jwks_client.get("/api/v1/panels", headers=bearer(TENANT_A, token)))


async def test_with_secret_and_jwks_both_kinds_of_token_work_but_confusion_does_not(
    jwks_and_secret_client: httpx2.AsyncClient, keys: Keys
) -> None:
    client = jwks_and_secret_client
    assert (await client.get("/api/v1/panels", headers=headers_for(TENANT_A))).status_code == 200
    rs = rs256(keys, claims_for(TENANT_A))
    assert (await client.get("/api/v1/panels", headers=bearer(TENANT_A, rs))).status_code == 200
    confused = handmade_token(
        {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, claims_for(TENANT_A), hmac_key=keys.rsa_public_pem
    )
    assert_unauthorized(await client.get("/api/v1/panels", headers=bearer(TENANT_A, confused)))


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_an_unreachable_jwks_url_fails_closed_with_a_401(database_url: str, keys: Keys) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/jwks.json"
    async with serving(make_settings(database_url, jwks_url=url, jwt_secret=None)) as client:
        token = rs256(keys, claims_for(TENANT_A))
        assert_unauthorized(await client.get("/api/v1/panels", headers=bearer(TENANT_A, token)))


# --- the verifier directly -----------------------------------------------------------------------------------------


async def test_the_verifier_returns_the_subject_and_the_granted_tenants() -> None:
    principal = await JwtVerifier(secret=JWT_SECRET).verify(hs256(claims_for(TENANT_A, TENANT_B, sub="alice")))
    assert principal.subject == "alice"
    assert principal.tenants == frozenset({TENANT_A, TENANT_B})


async def test_the_verifier_rejects_a_token_when_no_algorithm_is_configured() -> None:
    with pytest.raises(InvalidJwt):
        await JwtVerifier(secret=None).verify(hs256(claims_for(TENANT_A)))


# --- auth mode none ------------------------------------------------------------------------------------------------


async def test_auth_mode_none_lets_requests_through_with_only_x_tenant_id(database_url: str) -> None:
    async with serving(make_settings(database_url, auth_mode="none", allowed_hosts="testserver")) as client:
        created = await client.post("/api/v1/panels", json=PANEL_BODY, headers={"X-Tenant-ID": TENANT_A})
        assert created.status_code == 201, created.text
        assert created.json()["tenant_id"] == TENANT_A
        listed = await client.get("/api/v1/panels", headers={"X-Tenant-ID": TENANT_A})
        assert listed.json()["total"] == 1
        ignored = await client.get("/api/v1/panels", headers={"X-Tenant-ID": TENANT_A, "Authorization": "Bearer junk"})
        assert ignored.status_code == 200
        other = await client.get("/api/v1/panels", headers={"X-Tenant-ID": TENANT_B})
        assert other.json()["total"] == 0


async def test_auth_mode_none_still_requires_a_valid_x_tenant_id(database_url: str) -> None:
    async with serving(make_settings(database_url, auth_mode="none", allowed_hosts="testserver")) as client:
        assert (await client.get("/api/v1/panels")).status_code == 400
        assert (await client.get("/api/v1/panels", headers={"X-Tenant-ID": "nope"})).status_code == 400


async def test_health_endpoints_need_neither_tenant_nor_token(client: httpx2.AsyncClient) -> None:
    for path in ("/healthz", "/readyz"):
        response = await client.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
    bad = await client.get("/healthz", headers={"X-Tenant-ID": "junk", "Authorization": "Bearer junk"})
    assert bad.status_code == 200


# --- the CLI -------------------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """A clean ASK_PANEL_* environment; the root logger is restored afterwards (the CLI configures logging)."""
    for name in list(os.environ):
        if name.startswith("ASK_PANEL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ASK_PANEL_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield monkeypatch
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture
def no_server(cli_env: pytest.MonkeyPatch) -> list[str]:
    """Make `serve` record that it would have started instead of starting (and skip migrations)."""
    import uvicorn

    started: list[str] = []

    async def fake_serve(self: uvicorn.Server, sockets: Any = None) -> None:
        started.append(f"{self.config.host}:{self.config.port}")

    cli_env.setattr(uvicorn.Server, "serve", fake_serve)
    cli_env.setattr("ask_panel.cli.serve.migrate", lambda settings: None)
    return started


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.1", "example.com"])
def test_serve_refuses_auth_none_on_a_non_loopback_host(
    cli_env: pytest.MonkeyPatch, no_server: list[str], host: str
) -> None:
    cli_env.setenv("ASK_PANEL_AUTH_MODE", "none")
    assert main(["serve", "--host", host]) == 2
    assert no_server == []


def test_serve_with_auth_none_on_a_remote_host_needs_insecure_allow_remote(
    cli_env: pytest.MonkeyPatch, no_server: list[str]
) -> None:
    cli_env.setenv("ASK_PANEL_AUTH_MODE", "none")
    assert main(["serve", "--host", "0.0.0.0", "--port", "8123", "--insecure-allow-remote"]) == 0
    assert no_server == ["0.0.0.0:8123"]


def test_serve_with_auth_none_on_loopback_starts(cli_env: pytest.MonkeyPatch, no_server: list[str]) -> None:
    cli_env.setenv("ASK_PANEL_AUTH_MODE", "none")
    assert main(["serve", "--host", "127.0.0.1", "--port", "8124"]) == 0
    assert no_server == ["127.0.0.1:8124"]


def test_serve_with_jwt_auth_may_listen_on_any_host(cli_env: pytest.MonkeyPatch, no_server: list[str]) -> None:
    cli_env.setenv("ASK_PANEL_JWT_SECRET", JWT_SECRET)
    assert main(["serve", "--host", "0.0.0.0", "--port", "8125"]) == 0
    assert no_server == ["0.0.0.0:8125"]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.53", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("192.168.0.1", False),
        ("example.com", False),
        ("localhost.example.com", False),
        ("", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


async def test_the_token_command_prints_a_token_the_verifier_accepts(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_env.setenv("ASK_PANEL_JWT_SECRET", JWT_SECRET)
    assert main(["token", "--tenant", TENANT_A, "--ttl", "60"]) == 0
    token = capsys.readouterr().out.strip()
    principal = await JwtVerifier(secret=JWT_SECRET).verify(token)
    assert principal.tenants == frozenset({TENANT_A})
    claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 60
    assert 0 < claims["exp"] - time.time() <= 61


async def test_a_cli_token_for_several_tenants_is_accepted_by_the_api(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], client: httpx2.AsyncClient
) -> None:
    cli_env.setenv("ASK_PANEL_JWT_SECRET", JWT_SECRET)
    assert main(["token", "--tenant", TENANT_A, "--tenant", TENANT_B]) == 0
    token = capsys.readouterr().out.strip()
    for tenant in (TENANT_A, TENANT_B):
        assert (await client.get("/api/v1/panels", headers=bearer(tenant, token))).status_code == 200


async def test_a_cli_token_carries_the_configured_audience_and_issuer(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_env.setenv("ASK_PANEL_JWT_SECRET", JWT_SECRET)
    cli_env.setenv("ASK_PANEL_JWT_AUDIENCE", AUDIENCE)
    cli_env.setenv("ASK_PANEL_JWT_ISSUER", ISSUER)
    assert main(["token", "--tenant", TENANT_A]) == 0
    token = capsys.readouterr().out.strip()
    principal = await JwtVerifier(secret=JWT_SECRET, audience=AUDIENCE, issuer=ISSUER).verify(token)
    assert principal.tenants == frozenset({TENANT_A})


async def test_a_cli_token_is_rejected_by_a_verifier_with_another_secret(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_env.setenv("ASK_PANEL_JWT_SECRET", JWT_SECRET)
    assert main(["token", "--tenant", TENANT_A]) == 0
    token = capsys.readouterr().out.strip()
    with pytest.raises(InvalidJwt):
        await JwtVerifier(secret="another-secret-0123456789-0123456789-xyz").verify(token)


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--tenant", TENANT_A, "--ttl", "-5"], "-5 s is not a lifetime"),
        (["--tenant", TENANT_A, "--ttl", "0"], "0 s is not a lifetime"),
        (["--tenant", TENANT_A, "--ttl", "40000000"], "40000000 s is not a lifetime"),
        (["--tenant", "tenant-a"], "'tenant-a' is not a tenant id (a UUID)"),
        ([], "Missing option '--tenant'"),
    ],
    ids=["negative-ttl", "zero-ttl", "ttl-over-a-year", "tenant-not-a-uuid", "no-tenant"],
)
def test_the_token_command_refuses_bad_arguments_with_a_usage_error(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], arguments: list[str], complaint: str
) -> None:
    cli_env.setenv("ASK_PANEL_JWT_SECRET", JWT_SECRET)
    assert main(["token", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no token printed
    assert complaint in captured.err


def test_minting_refuses_a_lifetime_below_a_second_and_no_tenant() -> None:
    with pytest.raises(ValueError, match="at least 1 second"):
        mint_jwt(JWT_SECRET, [TENANT_A], ttl_s=-5)
    with pytest.raises(ValueError, match="at least one tenant"):
        mint_jwt(JWT_SECRET, [])


def test_the_token_command_writes_tenants_in_canonical_form(
    cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_env.setenv("ASK_PANEL_JWT_SECRET", JWT_SECRET)
    assert main(["token", "--tenant", TENANT_A.upper()]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), JWT_SECRET, algorithms=["HS256"])
    assert claims["tenant_id"] == TENANT_A
