"""Minting test tokens with the dev key pair (or any other key)."""

from pathlib import Path

from carekit.auth.keys import ensure_dev_keys
from carekit.auth.tokens import TokenIssuer


class TokenFactory:
    def __init__(self, private_key: Path | None = None, *, issuer: str = "guanhuai", audience: str = "guanhuai"):
        self.issuer = TokenIssuer(private_key or ensure_dev_keys()[0], issuer=issuer)
        self.audience = audience

    def mint(self, *, roles: list[str], region: str | None = None, sub: str = "test-user",
             agency: str | None = None, audience: str | None = None, ttl_seconds: int = 600,
             scopes: list[str] | None = None) -> str:
        return self.issuer.mint(sub=sub, roles=roles, region=region, agency=agency,
                                audience=audience or self.audience, ttl_seconds=ttl_seconds,
                                extra={"scope": " ".join(scopes)} if scopes else None)

    def headers(self, **kwargs) -> dict[str, str]:  # noqa: ANN003
        return {"Authorization": f"Bearer {self.mint(**kwargs)}"}
