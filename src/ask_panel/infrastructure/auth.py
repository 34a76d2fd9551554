"""JWT verification of bearer tokens: HS256 with a shared secret, or RS256/ES256 keys from a JWKS URL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt

from ask_panel.domain.ids import TenantId

HMAC_ALGORITHMS = ("HS256",)
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")


class InvalidJwt(Exception):
    """The bearer token is not accepted. Its text is one of the messages below, written for a person:
    never a library's own text (which can quote the token's bytes or the library's internals)."""


# What is wrong with a token, for a person; each failure of verification is reported with one of these.
MALFORMED = "The bearer token is not a well-formed JWT (three base64url parts: header.claims.signature)"
ALGORITHM_NOT_ACCEPTED = "The token is signed with an algorithm this service does not accept"
UNKNOWN_KEY = "The token is signed with a key this service does not know (its kid names no published key)"
KEYS_UNAVAILABLE = "The service could not fetch the keys to check the token with; try again later"
BAD_SIGNATURE = "The token's signature does not match: it was signed with another key, or altered after signing"
EXPIRED = "The token has expired: get a new one"
NOT_YET_VALID = "The token is not valid yet (its nbf or iat claim is in the future)"
WRONG_AUDIENCE = "The token is meant for another service: its aud claim does not name this one"
WRONG_ISSUER = "The token was issued by an issuer this service does not trust (its iss claim)"
INVALID_CLAIMS = "The token's claims are not valid"
NOT_A_NUMBER = "The token's {name} claim must be a number (seconds since 1970)"
_KNOWN_CLAIMS = frozenset({"exp", "nbf", "iat", "aud", "iss", "sub"})


def _missing_claim(claim: str) -> str:
    named = claim if claim in _KNOWN_CLAIMS else "a required"
    return f"The token has no {named} claim, which this service requires"


def _rejection(exc: jwt.PyJWTError) -> str:
    """The message for a person for a failure PyJWT reports (most specific class first)."""
    if isinstance(exc, jwt.ExpiredSignatureError):
        return EXPIRED
    if isinstance(exc, jwt.ImmatureSignatureError):
        return NOT_YET_VALID
    if isinstance(exc, jwt.InvalidSignatureError):
        return BAD_SIGNATURE
    if isinstance(exc, jwt.InvalidAudienceError):
        return WRONG_AUDIENCE
    if isinstance(exc, jwt.InvalidIssuerError):
        return WRONG_ISSUER
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return _missing_claim(exc.claim)
    if isinstance(exc, jwt.InvalidIssuedAtError):  # PyJWT's one reason for it: an iat that is not a number
        return NOT_A_NUMBER.format(name="iat")
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return ALGORITHM_NOT_ACCEPTED
    if isinstance(exc, jwt.DecodeError):
        return MALFORMED
    return INVALID_CLAIMS


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str | None
    tenants: frozenset[str]

    def may_act_for(self, tenant: TenantId) -> bool:
        return str(tenant) in self.tenants


def _tenants(claims: dict[str, Any]) -> frozenset[str]:
    found: set[str] = set()
    single = claims.get("tenant_id")
    if isinstance(single, str):
        found.add(single.lower())
    many = claims.get("tenant_ids")
    if isinstance(many, list):
        found.update(t.lower() for t in many if isinstance(t, str))
    return frozenset(found)


NUMERIC_DATE_CLAIMS = ("exp", "nbf", "iat")


def _numeric_dates(claims: dict[str, Any]) -> None:
    """RFC 7519: `exp`, `nbf` and `iat` are NumericDates, JSON numbers (PyJWT also takes numeric strings)."""
    for name in NUMERIC_DATE_CLAIMS:
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidJwt(NOT_A_NUMBER.format(name=name))


def _undecodable(token: str, key: Any, algorithm: str) -> str:
    """Why PyJWT could not decode a token: its segments (malformed), or, when the signature holds, its claims.

    PyJWT reports both as a `DecodeError`; told apart here by checking the signature alone, so that
    a signed token with a date claim that is not a number is told so.
    """
    try:
        payload = jwt.api_jws.decode_complete(token, key, algorithms=[algorithm])["payload"]
        claims = json.loads(payload)
    except (jwt.PyJWTError, ValueError):
        return MALFORMED
    if not isinstance(claims, dict):
        return MALFORMED
    try:
        _numeric_dates(claims)
    except InvalidJwt as exc:
        return str(exc)
    return INVALID_CLAIMS


class JwtVerifier:
    """Chooses the key by the JWT's algorithm; a token can never pick an algorithm we did not allow."""

    def __init__(
        self,
        *,
        secret: str | None,
        jwks_url: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        leeway_s: float = 30,
    ) -> None:
        self._secret = secret
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300) if jwks_url else None
        self._audience = audience
        self._issuer = issuer
        self._leeway = leeway_s

    @property
    def allowed_algorithms(self) -> tuple[str, ...]:
        algorithms: tuple[str, ...] = ()
        if self._secret:
            algorithms += HMAC_ALGORITHMS
        if self._jwks is not None:
            algorithms += ASYMMETRIC_ALGORITHMS
        return algorithms

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidJwt(MALFORMED) from None
        algorithm = header.get("alg")
        if algorithm not in self.allowed_algorithms:
            raise InvalidJwt(ALGORITHM_NOT_ACCEPTED)
        key: Any
        if algorithm in HMAC_ALGORITHMS:
            key = self._secret
        else:
            assert self._jwks is not None
            try:
                signing_key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
            except jwt.PyJWKClientConnectionError:
                raise InvalidJwt(KEYS_UNAVAILABLE) from None
            except jwt.PyJWTError:
                raise InvalidJwt(UNKNOWN_KEY) from None
            if signing_key.algorithm_name != algorithm:
                # A kid naming a key of another type (or curve) must not verify, nor crash PyJWT with a TypeError.
                raise InvalidJwt(BAD_SIGNATURE)
            key = signing_key.key
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp"]},  # a token naming an audience needs ours configured
            )
        except jwt.DecodeError as exc:
            if isinstance(exc, jwt.InvalidSignatureError):
                raise InvalidJwt(BAD_SIGNATURE) from None
            raise InvalidJwt(_undecodable(token, key, algorithm)) from None
        except jwt.PyJWTError as exc:
            raise InvalidJwt(_rejection(exc)) from None
        _numeric_dates(claims)
        return Principal(claims.get("sub"), _tenants(claims))


def mint_jwt(
    secret: str,
    tenants: Iterable[str],
    *,
    ttl_s: int = 3600,
    subject: str = "dev",
    audience: str | None = None,
    issuer: str | None = None,
) -> str:
    """A development token (HS256) granting the given tenants; ValueError for no tenant or a TTL below 1 s."""
    import time

    if ttl_s < 1:
        raise ValueError("a token's lifetime must be at least 1 second")
    now = int(time.time())
    tenant_list = [str(t) for t in tenants]
    if not tenant_list:
        raise ValueError("a token must grant at least one tenant")
    claims: dict[str, Any] = {"sub": subject, "iat": now, "exp": now + ttl_s}
    if len(tenant_list) == 1:
        claims["tenant_id"] = tenant_list[0]
    else:
        claims["tenant_ids"] = tenant_list
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")
