"""Partner agencies (admins): register one, list them, rotate a secret. A secret is shown only once."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, conflict, not_found
from registry.api.deps import VaultDep
from registry.api.schemas import NOT_BLANK
from registry.db.tables import PartnerRecord
from registry.service.partners import (
    NewPartner,
    PartnerExists,
    list_partners,
    register_partner,
    rotate_secret,
    visible_partner,
)

router = APIRouter(prefix="/v1/partners", tags=["partners"], responses=PROBLEM_RESPONSES)
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
AGENCY = r"^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$"
REMIT = r"^(?:[0-9]{2}|[0-9]{4}|[0-9]{6})$"  # a partner's remit: the province, a prefecture or a county


class PartnerCreate(BaseModel):
    agency: str = Field(pattern=AGENCY, description="The partner's id: 1–48 lower-case letters, digits, hyphens. "
                        "Its events carry the CloudEvent source /partners/<agency>.", examples=["health-360702"])
    name: str = Field(min_length=1, max_length=128, pattern=NOT_BLANK, examples=["章贡区卫生健康委员会"])
    region: str = Field(pattern=REMIT,
                        description="The remit: the province, prefecture or county (2, 4 or 6 digits) of the "
                        "persons the partner reports on; inside yours",
                        examples=["360702"])


class PartnerPublic(BaseModel):
    agency: str
    name: str
    region: str
    active: bool
    created_at: datetime


class PartnerWithSecret(PartnerPublic):
    secret: str = Field(description="Standard Webhooks secret (whsec_…). Shown only now: store it safely.")


def _public(record: PartnerRecord) -> PartnerPublic:
    return PartnerPublic(agency=record.agency, name=record.name, region=record.region, active=record.active,
                         created_at=record.created_at)


@router.post("", status_code=201, response_model=PartnerWithSecret,
             summary="Register a partner agency; answers its webhook secret once")
async def create_partner(body: PartnerCreate, principal: Admin, uow: UowDep, vault: VaultDep,
                         response: Response) -> PartnerWithSecret:
    try:
        record, secret = await register_partner(uow, principal, NewPartner(body.agency, body.name, body.region),
                                                vault)
    except PartnerExists as exc:
        raise conflict("partner-exists", "A partner with this agency id is already registered; rotate its secret "
                       "instead.", "该机构标识已登记；如需新密钥请轮换密钥。", existing=f"/v1/partners/{body.agency}"
                       ) from exc
    public = _public(record)
    await uow.commit()
    response.headers["Location"] = f"/v1/partners/{record.agency}"
    response.headers["Cache-Control"] = "no-store"
    return PartnerWithSecret(**public.model_dump(), secret=secret)


@router.get("", response_model=list[PartnerPublic], summary="Partners registered inside your region (no secrets)")
async def get_partners(principal: Admin, uow: UowDep) -> list[PartnerPublic]:
    return [_public(r) for r in await list_partners(uow.session, principal)]


@router.post("/{agency}/rotate-secret", response_model=PartnerWithSecret,
             summary="Replace a partner's webhook secret; the old one stops working at once")
async def rotate_partner_secret(agency: Annotated[str, Path(pattern=AGENCY)], principal: Admin, uow: UowDep,
                                vault: VaultDep, response: Response) -> PartnerWithSecret:
    record = await visible_partner(uow.session, principal, agency, lock=True)
    if record is None:
        raise not_found("partner", "合作机构")
    secret = await rotate_secret(uow, record, vault)
    public = _public(record)
    await uow.commit()
    response.headers["Cache-Control"] = "no-store"
    return PartnerWithSecret(**public.model_dump(), secret=secret)
