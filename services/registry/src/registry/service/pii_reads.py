"""Masked by default; unmasked only for a caller holding the PII permission who states a purpose,
and then every read leaves an audit row in the same transaction."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from carekit.auth.principal import Principal
from carekit.db.uow import UnitOfWork
from carekit.pii import PiiVault
from registry.db.tables import AuditRecord, HouseholdRecord, PersonRecord
from registry.domain.identity import mask_id_number, mask_phone
from registry.service.persons import BANK_FIELD, ID_FIELD, PHONE_FIELD
from registry.service.search import visible_households

PII_PERMISSION = "pii:read"


class PiiNotPermitted(Exception):
    pass


@dataclass(frozen=True)
class Identifiers:
    id_number: str | None
    phone: str | None
    bank_card: str | None
    revealed: bool


def _open(vault: PiiVault, cipher: bytes | None, key_id: str | None, field: str) -> str | None:
    return vault.open(cipher, key_id, field) if cipher is not None and key_id else None


def _mask_card(card: str | None) -> str | None:
    return None if card is None else "*" * (len(card) - 4) + card[-4:]


async def identifiers(uow: UnitOfWork, vault: PiiVault, principal: Principal, person: PersonRecord,
                      *, reveal: bool, purpose: str | None) -> Identifiers:
    id_number = _open(vault, person.id_number_cipher, person.id_number_key_id, ID_FIELD)
    phone = _open(vault, person.phone_cipher, person.phone_key_id, PHONE_FIELD)
    card = _open(vault, person.bank_account_cipher, person.bank_account_key_id, BANK_FIELD)
    if not reveal:
        return Identifiers(id_number and mask_id_number(id_number), phone and mask_phone(phone), _mask_card(card),
                           False)
    if PII_PERMISSION not in principal.scopes:
        raise PiiNotPermitted
    fields = [name for name, value in ((ID_FIELD, id_number), (PHONE_FIELD, phone), (BANK_FIELD, card)) if value]
    uow.session.add(AuditRecord(actor=principal.sub, person_id=person.id, purpose=purpose or "",
                                fields=",".join(fields)))
    return Identifiers(id_number, phone, card, True)


@dataclass(frozen=True)
class BatchRead:
    """What payments and SMS need of each person; only the requested fields are in `fields`."""

    person_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    alive: bool
    died_on: date | None
    fields: dict[str, str | None]


_BATCH_COLUMNS = (PersonRecord.id, PersonRecord.household_id, HouseholdRecord.division_code, PersonRecord.death_date,
                  PersonRecord.name, PersonRecord.phone_cipher, PersonRecord.phone_key_id,
                  PersonRecord.bank_account_cipher, PersonRecord.bank_account_key_id)


def _batch_value(vault: PiiVault, row: Any, field: str) -> str | None:
    if field == "name":
        return row.name
    if field == "phone":
        return _open(vault, row.phone_cipher, row.phone_key_id, PHONE_FIELD)
    return _open(vault, row.bank_account_cipher, row.bank_account_key_id, BANK_FIELD)


def _batch_read(vault: PiiVault, row: Any, fields: Sequence[str]) -> BatchRead:
    values = {field: _batch_value(vault, row, field) for field in fields}  # decrypts only what was asked
    return BatchRead(row.id, row.household_id, row.division_code, row.death_date is None, row.death_date, values)


async def identifiers_batch(uow: UnitOfWork, vault: PiiVault, principal: Principal, person_ids: Sequence[uuid.UUID],
                            *, fields: Sequence[str], purpose: str) -> tuple[list[BatchRead], list[uuid.UUID]]:
    """Persons in the order asked, and the ids that name no (unmerged) person in the caller's area (a service
    token without a region: everywhere). One audit row per call."""
    if PII_PERMISSION not in principal.scopes:
        raise PiiNotPermitted
    wanted = list(dict.fromkeys(person_ids))
    rows = (await uow.session.execute(
        select(*_BATCH_COLUMNS).join(HouseholdRecord, HouseholdRecord.id == PersonRecord.household_id)
        .where(PersonRecord.id.in_(wanted), PersonRecord.merged_into.is_(None),
               visible_households(principal)))).all()
    by_id = {row.id: row for row in rows}
    found = [_batch_read(vault, by_id[i], fields) for i in wanted if i in by_id]
    missing = [i for i in wanted if i not in by_id]
    uow.session.add(AuditRecord(actor=principal.sub, person_id=None, person_ids=[r.person_id for r in found],
                                person_count=len(found), purpose=purpose, fields=",".join(fields)))
    return found, missing
