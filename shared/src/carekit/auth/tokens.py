"""Bearer JWTs (EdDSA or RS256): minting for dev and services, verification for every request."""

import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from carekit.auth.claims import InvalidClaims, check_claims
from carekit.auth.keys import load_private_key, load_public_key
from carekit.auth.principal import Principal

ALGORITHMS = ["EdDSA", "RS256"]
# A verified token is remembered for a short while: callers send the same token with every request,
# and checking its signature again each time (~150 µs of EdDSA and PyJWT) is most of the per-request
# cost of the cheapest endpoints. The entry ends at the token's expiry or after this many seconds,
# whichever is first, so a key withdrawn from the JWKS stops being honoured within that time.
VERIFIED_TTL_SECONDS = 60.0
VERIFIED_MAX_ENTRIES = 4096
REQUIRED_CLAIMS = ["exp", "iat", "sub", "aud", "iss"]
# Which public keys check which algorithm. Given a key of the wrong type PyJWT raises TypeError or
# InvalidKeyError rather than a signature error, so keys are matched to the token's `alg` first.
_KEY_TYPES: dict[str, tuple[type, ...]] = {
    "EdDSA": (Ed25519PublicKey, Ed448PublicKey),
    "RS256": (RSAPublicKey,),
}


class InvalidToken(Exception):
    def __init__(self, detail: str, detail_zh: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_zh = detail_zh


class TokenIssuer:
    def __init__(self, private_key_file: Path, *, issuer: str, key_id: str = "dev") -> None:
        self._key = load_private_key(private_key_file)
        self._algorithm = "EdDSA" if isinstance(self._key, Ed25519PrivateKey) else "RS256"
        self._issuer = issuer
        self._kid = key_id

    def mint(
        self,
        *,
        sub: str,
        roles: Iterable[str],
        audience: str | list[str],
        region: str | None = None,
        agency: str | None = None,
        ttl_seconds: int = 3600,
        extra: dict[str, Any] | None = None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "sub": sub,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_seconds,
            "jti": str(uuid.uuid4()),
            "roles": sorted(set(roles)),
        }
        if region is not None:
            claims["region"] = region
        if agency is not None:
            claims["agency"] = agency
        claims.update(extra or {})
        return jwt.encode(claims, self._key, algorithm=self._algorithm, headers={"kid": self._kid})


class TokenVerifier:
    """Checks signature, expiry, issuer and audience against a PEM public key or a JWKS URL."""

    def __init__(
        self,
        *,
        audience: str,
        issuer: str,
        public_key_files: list[Path] | None = None,
        jwks_url: str | None = None,
        leeway_seconds: int = 30,
    ) -> None:
        self._audience = audience
        self._issuer = issuer
        self._keys = [load_public_key(p) for p in public_key_files or []]
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        self._leeway = leeway_seconds
        self._verified: dict[str, tuple[Principal, float]] = {}
        if not self._keys and not self._jwks:
            raise ValueError("TokenVerifier needs a public key or a JWKS URL")

    def verify(self, token: str) -> Principal:
        now = time.time()
        remembered = self._verified.get(token)
        if remembered is not None and now < remembered[1]:
            return remembered[0]
        principal, expires_at = self._verify_fresh(token)
        if len(self._verified) >= VERIFIED_MAX_ENTRIES:
            self._forget_some(now)
        self._verified[token] = (principal, min(expires_at, now + VERIFIED_TTL_SECONDS))
        return principal

    def _forget_some(self, now: float) -> None:
        """Drop the expired entries; if none had expired, the oldest half."""
        for token in [t for t, (_, until) in self._verified.items() if until <= now]:
            del self._verified[token]
        if len(self._verified) >= VERIFIED_MAX_ENTRIES:
            for token in list(self._verified)[: VERIFIED_MAX_ENTRIES // 2]:
                del self._verified[token]

    def _verify_fresh(self, token: str) -> tuple[Principal, float]:
        """The principal and the token's expiry (epoch seconds), after every check."""
        claims = self._decode(token)
        scopes = _scopes(claims.get("scope"))
        try:
            check_claims(sub=claims["sub"], roles=claims.get("roles"), region=claims.get("region"),
                         agency=claims.get("agency"), scopes=scopes)
        except InvalidClaims as exc:
            raise InvalidToken(exc.detail, exc.detail_zh) from exc
        roles, region, agency = claims["roles"], claims.get("region"), claims.get("agency")
        principal = Principal(
            sub=str(claims["sub"]),
            roles=frozenset(roles),
            region=region,
            agency=agency,
            token_id=claims.get("jti"),
            scopes=frozenset(scopes),
        )
        return principal, float(claims["exp"])

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            alg = jwt.get_unverified_header(token).get("alg")
            if alg not in ALGORITHMS:
                raise jwt.InvalidAlgorithmError(f"algorithm {alg!r} is not allowed")
            candidates = [self._jwks.get_signing_key_from_jwt(token).key] if self._jwks else self._keys
            keys = [key for key in candidates if isinstance(key, _KEY_TYPES[alg])]
            if not keys:
                raise jwt.InvalidSignatureError(f"no {alg} key is trusted")
            last: Exception | None = None
            for key in keys:
                try:
                    return jwt.decode(token, key, algorithms=[alg], audience=self._audience,
                                      issuer=self._issuer, leeway=self._leeway,
                                      options={"require": REQUIRED_CLAIMS})
                except jwt.InvalidSignatureError as exc:
                    last = exc
            raise last or jwt.InvalidSignatureError("no key")
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("The token has expired. Get a new one.", "令牌已过期，请重新获取。") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidToken(
                f"The token is not meant for this platform (audience must be '{self._audience}').",
                "令牌的受众（aud）不是本平台。",
            ) from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidToken("The token was issued by an unknown issuer.", "令牌签发方未知。") from exc
        except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError) as exc:
            raise InvalidToken("The token's signature is not valid.", "令牌签名无效。") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"The token lacks the '{exc.claim}' claim.", f"令牌缺少 {exc.claim} 声明。") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"The token is not valid: {exc}.", "令牌无效。") from exc
        except (TypeError, ValueError) as exc:  # a malformed key or token deep inside PyJWT/cryptography
            raise InvalidToken("The token is not valid.", "令牌无效。") from exc


def _scopes(claim: Any) -> list[str]:
    """OAuth-style `scope`: space-separated permissions such as `pii:read`."""
    if claim is None:
        return []
    if not isinstance(claim, str):
        raise InvalidToken("The token's scope must be a space-separated string.",
                           "令牌的 scope 必须是以空格分隔的字符串。")
    return claim.split()
