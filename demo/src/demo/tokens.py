"""Development tokens for the demo's actors, signed with the dev key `make run` uses (.data/keys)."""

from carekit.testing.tokens import TokenFactory


def headers(
    roles: list[str], region: str | None, sub: str, scopes: list[str] | None = None, agency: str | None = None
) -> dict[str, str]:
    token = TokenFactory().mint(roles=roles, region=region, sub=sub, scopes=scopes, agency=agency, ttl_seconds=8 * 3600)
    return {"Authorization": f"Bearer {token}"}
