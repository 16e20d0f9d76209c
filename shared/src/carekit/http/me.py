"""`GET /v1/me`: who the token says you are (handy when getting started with a token)."""

from fastapi import APIRouter
from pydantic import BaseModel

from carekit.auth.deps import CurrentPrincipal

router = APIRouter(prefix="/v1", tags=["auth"])  # its problem responses (401, 500): carekit.http.openapi


class PrincipalPublic(BaseModel):
    sub: str
    roles: list[str]
    region: str | None
    agency: str | None


@router.get("/me", response_model=PrincipalPublic, summary="The caller as this service sees them")
async def whoami(principal: CurrentPrincipal) -> PrincipalPublic:
    return PrincipalPublic(sub=principal.sub, roles=sorted(principal.roles), region=principal.region,
                           agency=principal.agency)
