"""FastAPI dependencies: `CurrentPrincipal`, `require_roles(...)`, and the jurisdiction check."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from carekit.auth.principal import OutsideJurisdiction, Principal, ensure_in_jurisdiction
from carekit.auth.tokens import InvalidToken
from carekit.http.problems import ProblemError, forbidden, not_found, unauthorized

_bearer = HTTPBearer(auto_error=False, description="A JWT from the platform's identity provider")


def principal_from_request(request: Request, token: str) -> Principal:
    try:
        return request.app.state.token_verifier.verify(token)
    except InvalidToken as exc:
        raise unauthorized(exc.detail, exc.detail_zh) from exc


async def get_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise unauthorized(
            "Send a bearer token in the Authorization header.", "请在 Authorization 头中携带 Bearer 令牌。"
        )
    principal = principal_from_request(request, credentials.credentials)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: str) -> Callable[..., Principal]:
    """A dependency that lets through a caller holding any of `roles`, else 403."""
    wanted = ", ".join(roles)

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(*roles):
            raise forbidden(f"This needs one of these roles: {wanted}.", f"此操作需要以下角色之一：{wanted}。")
        return principal

    check.required_roles = roles  # type: ignore[attr-defined]  # read by the kit's OpenAPI hook (403)
    return check


def check_jurisdiction(principal: Principal, division_code: str, what: str = "resource", what_zh: str = "资源") -> None:
    """404 (never 403) when the resource lies outside the caller's region."""
    try:
        ensure_in_jurisdiction(principal, division_code)
    except OutsideJurisdiction as exc:
        raise not_found(what, what_zh) from exc


__all__ = ["CurrentPrincipal", "ProblemError", "check_jurisdiction", "get_principal", "require_roles"]
