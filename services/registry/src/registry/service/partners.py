"""Partner agencies allowed to post events, and their Standard Webhooks secrets.

A secret is `whsec_` + base64 of 32 random bytes. It is shown once (on registration or rotation) and
stored sealed with the PII vault; rotation replaces it at once (the old secret stops working).
"""

import base64
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carekit.auth.principal import Principal, Role
from carekit.db.uow import UnitOfWork
from carekit.pii import PiiVault
from registry.db.tables import HouseholdRecord, PartnerRecord
from registry.domain.errors import FieldError
from registry.domain.jurisdiction import area_of, covers
from registry.domain.partner_events import AGENCY_PATTERN

SECRET_FIELD = "partner_webhook_secret"
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


class PartnerExists(Exception):
    pass


@dataclass(frozen=True)
class NewPartner:
    agency: str
    name: str
    region: str


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def partner_secret(vault: PiiVault, record: PartnerRecord) -> str:
    return vault.open(record.secret_cipher, record.secret_key_id, _context(record.agency))


def partner_principal(record: PartnerRecord) -> Principal:
    """Who a partner's reports are recorded as: `recorded_by` is the agency."""
    return Principal(sub=record.agency, roles=frozenset({Role.PARTNER}), region=record.region, agency=record.agency)


def in_remit(partner: PartnerRecord, household: HouseholdRecord) -> bool:
    """A partner's reports apply to households registered in, or living in, its registered region."""
    return any(code is not None and code.startswith(partner.region)
               for code in (household.division_code, household.residence_division_code))


def _context(agency: str) -> str:
    # Binding the ciphertext to the agency: one partner's sealed secret cannot be pasted onto another.
    return f"{SECRET_FIELD}:{agency}"


def _seal(record: PartnerRecord, vault: PiiVault) -> str:
    secret = new_secret()
    sealed = vault.seal(secret, _context(record.agency))
    record.secret_cipher, record.secret_key_id = sealed.cipher, sealed.key_id
    return secret


async def register_partner(uow: UnitOfWork, principal: Principal, new: NewPartner,
                           vault: PiiVault) -> tuple[PartnerRecord, str]:
    if not AGENCY_PATTERN.match(new.agency):
        raise FieldError("agency", "An agency id is 1–48 lower-case letters, digits or hyphens.",
                         "机构标识应为1至48位小写字母、数字或连字符。")
    if not covers(principal, new.region):
        raise FieldError("region", "The partner's region must lie inside your own.", "合作机构的辖区须在您的辖区之内。")
    if await uow.session.get(PartnerRecord, new.agency) is not None:
        raise PartnerExists(new.agency)
    record = PartnerRecord(agency=new.agency, name=new.name.strip(), region=new.region, secret_cipher=b"",
                           secret_key_id="")
    secret = _seal(record, vault)
    uow.session.add(record)
    await uow.session.flush()
    await uow.session.refresh(record)
    return record, secret


async def visible_partner(session: AsyncSession, principal: Principal, agency: str,
                          *, lock: bool = False) -> PartnerRecord | None:
    stmt = select(PartnerRecord).where(PartnerRecord.agency == agency)
    if lock:
        stmt = stmt.with_for_update()
    record = (await session.execute(stmt)).scalar_one_or_none()
    return record if record is not None and covers(principal, record.region) else None


async def rotate_secret(uow: UnitOfWork, record: PartnerRecord, vault: PiiVault) -> str:
    secret = _seal(record, vault)
    uow.session.add(record)
    await uow.session.flush()
    return secret


async def list_partners(session: AsyncSession, principal: Principal) -> list[PartnerRecord]:
    area = area_of(principal)
    if area is None:
        return []
    stmt = (select(PartnerRecord).where(PartnerRecord.region.startswith(area, autoescape=True))
            .order_by(PartnerRecord.agency))
    return list((await session.execute(stmt)).scalars())


async def active_partner(session: AsyncSession, agency: str) -> PartnerRecord | None:
    record = await session.get(PartnerRecord, agency)
    return record if record is not None and record.active else None
