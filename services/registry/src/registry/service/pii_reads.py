"""Masked by default; unmasked only for a caller holding the PII permission who states a purpose,
and then every read leaves an audit row in the same transaction."""

from dataclasses import dataclass

from carekit.auth.principal import Principal
from carekit.db.uow import UnitOfWork
from carekit.pii import PiiVault
from registry.db.tables import AuditRecord, PersonRecord
from registry.domain.identity import mask_id_number, mask_phone
from registry.service.persons import BANK_FIELD, ID_FIELD, PHONE_FIELD

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
