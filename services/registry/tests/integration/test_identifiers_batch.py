"""`POST /v1/persons/identifiers:batch` (contract C1): services read names, phones and bank cards of many
persons at once for payments and SMS; only with role service and scope pii:read; one audit row a call."""

import uuid
from datetime import date

import asyncpg
from carekit.db.engine import asyncpg_dsn
from registry_support import VILLAGE

URL = "/v1/persons/identifiers:batch"
CARD = "6222021234567890128"  # Luhn-valid


async def _family(family) -> dict[str, str]:  # noqa: ANN001
    await family.household()
    await family.person("father", name="张国强", relation="head", phone="13812345678", bank_card=CARD,
                        id_number=family.id_number(date(1960, 1, 5), female=False))
    await family.person("mother", name="刘桂兰", relation="spouse",
                        id_number=family.id_number(date(1962, 7, 9), female=True))
    await family.person("son", name="张伟", relation="child", mother_id="mother", father_id="father",
                        id_number=family.id_number(date(1990, 3, 3), female=False))
    await family.event("son", kind="death", effective_date="2023-06-01")
    return family.people


def _service(tokens, *, scopes: list[str] | None = None, roles: list[str] | None = None) -> dict[str, str]:  # noqa: ANN001
    return tokens.headers(roles=roles or ["service"], sub="svc-relief",
                          scopes=["pii:read"] if scopes is None else scopes)


async def test_batch_answers_requested_fields_alive_and_missing(family, tokens) -> None:  # noqa: ANN001
    people = await _family(family)
    unknown = str(uuid.uuid4())
    body = {"person_ids": [people["father"], unknown, people["son"], people["mother"]],
            "fields": ["name", "phone", "bank_card"], "purpose": "disbursement"}
    response = await family.client.post(URL, json=body, headers=_service(tokens))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["missing"] == [unknown]
    by_id = {p["person_id"]: p for p in answer["persons"]}
    assert [p["person_id"] for p in answer["persons"]] == [people["father"], people["son"], people["mother"]]
    assert by_id[people["father"]] == {
        "person_id": people["father"], "household_id": family.household_id, "region_code": VILLAGE,
        "name": "张国强", "phone": "+8613812345678", "bank_card": CARD, "alive": True, "died_on": None}
    assert by_id[people["mother"]]["phone"] is None and by_id[people["mother"]]["bank_card"] is None
    assert by_id[people["son"]]["alive"] is False and by_id[people["son"]]["died_on"] == "2023-06-01"


async def test_only_the_requested_fields_are_present(family, tokens) -> None:  # noqa: ANN001
    people = await _family(family)
    body = {"person_ids": [people["father"]], "fields": ["phone"], "purpose": "notification"}
    response = await family.client.post(URL, json=body, headers=_service(tokens))
    assert response.status_code == 200, response.text
    [person] = response.json()["persons"]
    assert set(person) == {"person_id", "household_id", "region_code", "phone", "alive", "died_on"}
    assert person["phone"] == "+8613812345678"


async def test_one_audit_row_per_call_with_count_and_purpose(family, tokens) -> None:  # noqa: ANN001
    people = await _family(family)
    ids = [people["father"], people["mother"], people["son"], str(uuid.uuid4())]
    body = {"person_ids": ids, "fields": ["name", "bank_card"], "purpose": "disbursement"}
    assert (await family.client.post(URL, json=body, headers=_service(tokens))).status_code == 200

    conn = await asyncpg.connect(asyncpg_dsn(family.client._transport.app.state.test_database_url))
    try:
        rows = await conn.fetch("SELECT actor, person_id, person_ids, person_count, purpose, fields FROM pii_audit "
                                "WHERE $1::uuid = ANY(person_ids)", people["mother"])
    finally:
        await conn.close()
    assert len(rows) == 1
    row = rows[0]
    assert (row["actor"], row["person_id"], row["person_count"], row["purpose"], row["fields"]) == (
        "svc-relief", None, 3, "disbursement", "name,bank_card")
    assert sorted(map(str, row["person_ids"])) == sorted(ids[:3])

    auditor = tokens.headers(roles=["auditor"], region="360702", sub="aud-1")
    trail = (await family.client.get("/v1/audit", params={"person_id": people["son"]}, headers=auditor)).json()
    assert [(a["actor"], a["person_count"], a["purpose"], a["fields"]) for a in trail["items"]] == [
        ("svc-relief", 3, "disbursement", ["name", "bank_card"])]


async def test_no_token_wrong_role_or_no_scope_is_refused_and_not_audited(family, tokens) -> None:  # noqa: ANN001
    people = await _family(family)
    body = {"person_ids": [people["father"]], "fields": ["name"], "purpose": "notification"}
    no_token = await family.client.post(URL, json=body)
    assert no_token.status_code == 401
    assert no_token.headers["content-type"].startswith("application/problem+json")
    pii_caseworker = tokens.headers(roles=["caseworker"], region="360702", sub="cw-x", scopes=["pii:read"])
    wrong_role = await family.client.post(URL, json=body, headers=pii_caseworker)
    assert wrong_role.status_code == 403
    assert wrong_role.headers["content-type"].startswith("application/problem+json")
    no_scope = await family.client.post(URL, json=body, headers=_service(tokens, scopes=[]))
    assert no_scope.status_code == 403
    assert no_scope.headers["content-type"].startswith("application/problem+json")

    auditor = tokens.headers(roles=["auditor"], region="360702", sub="aud-1")
    trail = (await family.client.get("/v1/audit", params={"person_id": people["father"]}, headers=auditor)).json()
    assert trail["items"] == []


async def test_bad_requests_are_422(family, tokens) -> None:  # noqa: ANN001
    headers = _service(tokens)
    too_many = {"person_ids": [str(uuid.uuid4()) for _ in range(1001)], "fields": ["name"], "purpose": "disbursement"}
    for body in (too_many,
                 {"person_ids": [], "fields": ["name"], "purpose": "disbursement"},
                 {"person_ids": [str(uuid.uuid4())], "fields": ["id_number"], "purpose": "disbursement"},
                 {"person_ids": [str(uuid.uuid4())], "fields": ["name"], "purpose": "curiosity"},
                 {"person_ids": ["not-a-uuid"], "fields": ["name"], "purpose": "notification"}):
        response = await family.client.post(URL, json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.headers["content-type"].startswith("application/problem+json")
    exactly_1000 = {"person_ids": [str(uuid.uuid4()) for _ in range(1000)], "fields": [], "purpose": "notification"}
    response = await family.client.post(URL, json=exactly_1000, headers=headers)
    assert response.status_code == 200 and len(response.json()["missing"]) == 1000


async def test_other_methods_on_the_batch_path_are_405_allowing_post(registry, caseworker) -> None:  # noqa: ANN001
    """GET /v1/persons/identifiers:batch was read as a person id (a 422 on `person_id`)."""
    answer = await registry.get("/v1/persons/identifiers:batch", headers=caseworker)
    assert answer.status_code == 405, answer.text
    assert answer.headers["allow"] == "POST"
