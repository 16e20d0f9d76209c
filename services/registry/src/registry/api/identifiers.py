"""`POST /v1/persons/identifiers:batch`: names, phones and bank cards of up to 1,000 persons for another
service paying them or texting them (role `service`, scope `pii:read`); one audit row per call."""

from typing import Annotated

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, forbidden
from fastapi import APIRouter, Depends

from registry.api.deps import VaultDep
from registry.api.schemas import IdentifiersBatchPublic, IdentifiersBatchRequest, PersonIdentifiersPublic
from registry.service import pii_reads

router = APIRouter(prefix="/v1/persons", tags=["persons"], responses=PROBLEM_RESPONSES)
ServiceCaller = Annotated[Principal, Depends(require_roles(Role.SERVICE))]


@router.post("/identifiers:batch", response_model=IdentifiersBatchPublic, response_model_exclude_unset=True,
             summary="Identifiers of many persons for a payment or a notification (services, audited)")
async def identifiers_batch(body: IdentifiersBatchRequest, principal: ServiceCaller, uow: UowDep,
                                 vault: VaultDep) -> IdentifiersBatchPublic:
    fields = list(dict.fromkeys(body.fields))
    try:
        found, missing = await pii_reads.identifiers_batch(uow, vault, principal, body.person_ids, fields=fields,
                                                 purpose=body.purpose)
    except pii_reads.PiiNotPermitted as exc:
        raise forbidden("Identifiers need the pii:read scope.", "读取身份信息需要 pii:read 权限。") from exc
    await uow.commit()  # the audit row
    persons = [PersonIdentifiersPublic(person_id=r.person_id, household_id=r.household_id, region_code=r.region_code,
                                       alive=r.alive, died_on=r.died_on, **r.fields) for r in found]
    return IdentifiersBatchPublic(persons=persons, missing=missing)
