"""JWT verification of bearer tokens: HS256 with a shared secret, or RS256/ES256 keys from a JWKS URL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt

from ask_panel.domain.ids import TenantId

HMAC_ALGORITHMS = ("HS256",)
ASYMMETRIC_ALGORITHMS = ("RS256", "ES256")


class InvalidJwt(Exception):
    """The bearer token is missing, malformed, badly signed or expired."""


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
            raise InvalidJwt(f"invalid token: the {name} claim must be a number")


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
        except jwt.PyJWTError as exc:
            raise InvalidJwt(f"malformed token: {exc}") from None
        algorithm = header.get("alg")
        if algorithm not in self.allowed_algorithms:
            raise InvalidJwt(f"algorithm {algorithm!r} is not accepted")
        key: Any
        if algorithm in HMAC_ALGORITHMS:
            key = self._secret
        else:
            assert self._jwks is not None
            try:
                signing_key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
            except jwt.PyJWTError as exc:
                raise InvalidJwt(f"no signing key: {exc}") from None
            if signing_key.algorithm_name != algorithm:
                # A kid naming a key of another type (or curve) must not verify, nor crash PyJWT with a TypeError.
                raise InvalidJwt(f"the key {signing_key.key_id!r} is not an {algorithm} key")
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
        except jwt.ExpiredSignatureError:
            raise InvalidJwt("token expired") from None
        except jwt.PyJWTError as exc:
            raise InvalidJwt(f"invalid token: {exc}") from None
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
    """A development token (HS256) granting the given tenants."""
    import time

    now = int(time.time())
    tenant_list = [str(t) for t in tenants]
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
