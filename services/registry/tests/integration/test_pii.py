"""PII: encrypted at rest, masked in answers, unmasked only with pii:read and a purpose, and audited."""

from datetime import date

import asyncpg
from registry_support import only_child_family

from carekit.db.engine import asyncpg_dsn


async def test_masked_by_default_revealed_with_permission_and_audited(family, tokens) -> None:  # noqa: ANN001
    await only_child_family(family)
    father = family.people["father"]
    id_number = family.id_number(date(1966, 5, 1), female=False)

    masked = (await family.client.get(f"/v1/persons/{father}", headers=family.headers)).json()
    assert masked["id_number"] == id_number[:6] + "********" + id_number[-4:]
    assert masked["phone"] == "138****8000" and masked["revealed"] is False

    no_purpose = await family.client.get(f"/v1/persons/{father}", params={"reveal": "true"},
                                         headers=family.headers)
    assert no_purpose.status_code == 422
    not_allowed = await family.client.get(f"/v1/persons/{father}", params={"reveal": "true", "purpose": "核对身份"},
                                          headers=family.headers)
    assert not_allowed.status_code == 403

    allowed = tokens.headers(roles=["caseworker"], region="360702", sub="cw-pii", scopes=["pii:read"])
    revealed = (await family.client.get(f"/v1/persons/{father}",
                                        params={"reveal": "true", "purpose": "发放奖励扶助前核对身份"},
                                        headers=allowed)).json()
    assert revealed["id_number"] == id_number and revealed["phone"] == "+8613800138000"

    auditor = tokens.headers(roles=["auditor"], region="360702", sub="aud-1")
    trail = (await family.client.get("/v1/audit", params={"person_id": father}, headers=auditor)).json()
    assert [(a["actor"], a["purpose"], a["fields"]) for a in trail["items"]] == [
        ("cw-pii", "发放奖励扶助前核对身份", ["id_number", "phone"])]
    assert (await family.client.get("/v1/audit", headers=family.headers)).status_code == 403

    conn = await asyncpg.connect(asyncpg_dsn(family.client._transport.app.state.test_database_url))
    try:
        row = await conn.fetchrow("SELECT id_number_cipher, phone_cipher FROM persons WHERE id = $1::uuid", father)
    finally:
        await conn.close()
    assert id_number.encode() not in row["id_number_cipher"] and b"13800138000" not in row["phone_cipher"]
