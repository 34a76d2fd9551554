"""What a 401 or 403 tells a person: what is wrong with the token, in words of this service, never a library's."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import jwt
import pytest

from ask_panel.config import MEMORY_DATABASE_URL
from ask_panel.infrastructure import auth
from ask_panel.infrastructure.auth import mint_jwt
from tests.conftest import JWT_SECRET, TENANT_A, TENANT_B, make_settings, serving

AUDIENCE = "ask-panel-api"
ISSUER = "https://issuer.example.test/"
# Every message a 401 for a token may carry: fixed sentences, plus one per required claim.
PERSON_MESSAGES = {
    auth.MALFORMED,
    auth.ALGORITHM_NOT_ACCEPTED,
    auth.UNKNOWN_KEY,
    auth.KEYS_UNAVAILABLE,
    auth.BAD_SIGNATURE,
    auth.EXPIRED,
    auth.NOT_YET_VALID,
    auth.WRONG_AUDIENCE,
    auth.WRONG_ISSUER,
    auth.INVALID_CLAIMS,
}
# Fragments of PyJWT's, base64's and Python's own messages (the texts the issue found in 401 bodies).
LIBRARY_TEXT = ("codec", "utf-8", "padding", "Invalid header", "Invalid crypto", "byte 0x", "Not enough segments")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


HS256_HEADER = b'{"alg":"HS256","typ":"JWT"}'


def claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "tester", "iat": now, "exp": now + 600, "tenant_id": TENANT_A, **extra}


def hs256(body: dict[str, Any], secret: str = JWT_SECRET) -> str:
    return jwt.encode(body, secret, algorithm="HS256")


def signed_by_hand(body: Any, *, raw: bytes | None = None) -> str:
    """A correctly signed HS256 token whose claims PyJWT would refuse to encode (a number as issuer, not JSON)."""
    signing_input = f"{_b64(HS256_HEADER)}.{_b64(raw if raw is not None else json.dumps(body).encode())}"
    signature = hmac.new(JWT_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


# Garbage that reached PyJWT's messages before: a header that is not UTF-8 ("Invalid header string: 'utf-8'
# codec can't decode byte 0xb7"), a signature of one base64 character ("Invalid crypto padding"), and more.
def token_of(*segments: bytes) -> str:
    return ".".join(_b64(segment) for segment in segments)


GARBAGE_TOKENS = {
    "header-not-utf8": token_of(bytes([0xB7, 0xFF, 0xFE]), b"{}", b"sig"),
    "bad-padding": token_of(HS256_HEADER, b"{}") + ".a",
    "header-not-json": token_of(b"not json", b"{}", b"sig"),
    "header-a-list": token_of(b"[1,2]", b"{}", b"sig"),
    "one-segment": "notajwt",
    "two-segments": "a.b",
    "latin-1-bytes": "\u00b7\u00b7\u00b7.\u00b7.\u00b7".encode("latin-1").decode("latin-1"),
    "four-segments": "a.b.c.d",
}


@pytest.fixture
async def client() -> AsyncIterator[httpx2.AsyncClient]:
    async with serving(make_settings(MEMORY_DATABASE_URL, jwt_audience=AUDIENCE, jwt_issuer=ISSUER)) as (_, client):
        yield client


def bearer(token: str, tenant: str = TENANT_A) -> dict[bytes, bytes]:
    """Headers with the token as it was written (latin-1 text is sent as those bytes)."""
    return {b"X-Tenant-ID": tenant.encode(), b"Authorization": f"Bearer {token}".encode("latin-1")}


async def refusal(
    client: httpx2.AsyncClient, headers: dict[bytes, bytes] | dict[str, str], path: str = "/api/v1/panels"
) -> str:
    """The detail of a 401 problem for `headers`."""
    response = await client.get(path, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail: str = response.json()["detail"]
    return detail


@pytest.mark.parametrize("token", GARBAGE_TOKENS.values(), ids=GARBAGE_TOKENS.keys())
async def test_a_garbage_token_is_called_malformed_and_its_401_holds_no_library_text(
    client: httpx2.AsyncClient, token: str
) -> None:
    response = await client.get("/api/v1/panels", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["detail"] == auth.MALFORMED
    for fragment in LIBRARY_TEXT:
        assert fragment.lower() not in response.text.lower(), fragment


async def test_no_token_says_a_bearer_token_is_required(client: httpx2.AsyncClient) -> None:
    detail = await refusal(client, {"X-Tenant-ID": TENANT_A})
    assert detail == "A bearer token is required: send 'Authorization: Bearer <token>'"


async def test_another_scheme_says_how_to_send_the_token(client: httpx2.AsyncClient) -> None:
    detail = await refusal(client, {"X-Tenant-ID": TENANT_A, "Authorization": "Basic dXNlcjpwYXNz"})
    assert detail == "The Authorization header must be 'Bearer <token>'"


async def test_an_expired_token_says_it_expired(client: httpx2.AsyncClient) -> None:
    token = hs256(claims(aud=AUDIENCE, iss=ISSUER, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600))
    assert await refusal(client, bearer(token)) == auth.EXPIRED


async def test_a_token_signed_with_another_secret_says_the_signature_does_not_match(
    client: httpx2.AsyncClient,
) -> None:
    token = hs256(claims(aud=AUDIENCE, iss=ISSUER), secret="another-secret-0123456789-0123456789-xyz")
    assert await refusal(client, bearer(token)) == auth.BAD_SIGNATURE


async def test_a_token_altered_after_signing_says_the_signature_does_not_match(client: httpx2.AsyncClient) -> None:
    header, _, signature = hs256(claims(aud=AUDIENCE, iss=ISSUER)).split(".")
    forged = f"{header}.{_b64(json.dumps(claims(aud=AUDIENCE, iss=ISSUER, tenant_id=TENANT_B)).encode())}.{signature}"
    assert await refusal(client, bearer(forged, TENANT_B)) == auth.BAD_SIGNATURE


async def test_a_token_for_another_audience_says_so(client: httpx2.AsyncClient) -> None:
    assert await refusal(client, bearer(hs256(claims(aud="billing-api", iss=ISSUER)))) == auth.WRONG_AUDIENCE


async def test_a_token_without_an_audience_names_the_missing_claim(client: httpx2.AsyncClient) -> None:
    detail = await refusal(client, bearer(hs256(claims(iss=ISSUER))))
    assert detail == "The token has no aud claim, which this service requires"


async def test_a_token_from_another_issuer_says_so(client: httpx2.AsyncClient) -> None:
    token = hs256(claims(aud=AUDIENCE, iss="https://evil.example.test/"))
    assert await refusal(client, bearer(token)) == auth.WRONG_ISSUER


async def test_a_token_without_exp_names_the_missing_claim(client: httpx2.AsyncClient) -> None:
    body = claims(aud=AUDIENCE, iss=ISSUER)
    del body["exp"]
    assert await refusal(client, bearer(hs256(body))) == "The token has no exp claim, which this service requires"


async def test_a_token_not_valid_yet_says_so(client: httpx2.AsyncClient) -> None:
    token = hs256(claims(aud=AUDIENCE, iss=ISSUER, nbf=int(time.time()) + 3600))
    assert await refusal(client, bearer(token)) == auth.NOT_YET_VALID


async def test_a_non_numeric_expiry_says_the_claim_must_be_a_number(client: httpx2.AsyncClient) -> None:
    for name in ("exp", "nbf", "iat"):
        detail = await refusal(client, bearer(signed_by_hand(claims(aud=AUDIENCE, iss=ISSUER, **{name: "tomorrow"}))))
        assert detail == f"The token's {name} claim must be a number (seconds since 1970)"


@pytest.mark.parametrize("raw", [b"\xb7garbage", b"[]", b"null"], ids=["not-json", "a-list", "null"])
async def test_signed_claims_that_are_not_a_json_object_are_called_malformed(
    client: httpx2.AsyncClient, raw: bytes
) -> None:
    assert await refusal(client, bearer(signed_by_hand(None, raw=raw))) == auth.MALFORMED


async def test_an_algorithm_that_is_not_accepted_says_so_without_echoing_the_header(
    client: httpx2.AsyncClient,
) -> None:
    header = _b64(json.dumps({"alg": "none<script>", "typ": "JWT"}).encode())
    token = f"{header}.{_b64(json.dumps(claims()).encode())}."
    detail = await refusal(client, bearer(token))
    assert detail == auth.ALGORITHM_NOT_ACCEPTED
    assert "script" not in detail


async def test_a_valid_token_for_another_tenant_is_a_403_that_says_which_tenant_it_is_not_for(
    client: httpx2.AsyncClient,
) -> None:
    token = mint_jwt(JWT_SECRET, [TENANT_B], audience=AUDIENCE, issuer=ISSUER)
    response = await client.get("/api/v1/panels", headers=bearer(token))
    assert response.status_code == 403
    assert response.json()["detail"] == (
        f"The token is not for tenant {TENANT_A}: its tenant_id and tenant_ids claims do not name it"
    )


async def test_the_watch_streams_fast_path_gives_the_same_messages(client: httpx2.AsyncClient) -> None:
    path = "/api/v1/panels/99999999-9999-4999-8999-999999999999/stream"
    assert await refusal(client, bearer(GARBAGE_TOKENS["header-not-utf8"]), path) == auth.MALFORMED
    expired = hs256(claims(aud=AUDIENCE, iss=ISSUER, exp=int(time.time()) - 3600))
    assert await refusal(client, bearer(expired), path) == auth.EXPIRED


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_an_unreachable_key_set_says_the_keys_could_not_be_fetched() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    url = f"http://127.0.0.1:{_closed_port()}/jwks.json"
    settings = make_settings(MEMORY_DATABASE_URL, jwks_url=url, jwt_secret=None)
    async with serving(settings) as (_, client):
        token = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "k1"})
        detail = await refusal(client, bearer(token))
    assert detail == auth.KEYS_UNAVAILABLE
    assert "127.0.0.1" not in detail


@pytest.mark.parametrize(
    "token",
    [
        *GARBAGE_TOKENS.values(),
        hs256(claims(aud=AUDIENCE, iss=ISSUER, iat="yesterday")),
        hs256(claims(aud=[1, 2], iss=ISSUER)),
        signed_by_hand(claims(aud=AUDIENCE, iss=7)),
        signed_by_hand(claims(aud=AUDIENCE, iss=ISSUER, exp=None)),
        signed_by_hand(claims(aud={"a": 1}, iss=ISSUER)),
        hs256(claims(aud=AUDIENCE, iss=ISSUER, nbf="soon")),
        token_of(json.dumps({"alg": "HS256", "kid": ["x"]}).encode(), b"[]", b"x"),
    ],
)
async def test_every_401_for_a_token_carries_one_of_the_services_own_messages(
    client: httpx2.AsyncClient, token: str
) -> None:
    detail = await refusal(client, bearer(token))
    assert detail in PERSON_MESSAGES or detail.startswith(("The token has no ", "The token's ")), detail
