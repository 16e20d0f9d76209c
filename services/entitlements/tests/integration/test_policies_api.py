"""Policy management over HTTP: drafts, errors with positions, maker ≠ checker, overlaps, and the
evaluation paths reading the active versions from the database."""

import copy
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from registry_events import fetch

from carekit.testing.service import running
from entitlements.main import create_app
from entitlements.settings import EntitlementsSettings

DRAFT = {
    "code": "test-elderly-bonus",
    "name": {"zh": "高龄奖励", "en": "Elderly bonus"},
    "legal_basis": "测试〔2026〕1号",
    "jurisdiction": "360702",
    "effective_from": "2026-01-01",
    "effective_to": "2026-12-31",
    "subject": "person",
    "criteria": [{"expr": "person.age >= 80", "label": {"zh": "{subject}年满80周岁", "en": "{subject} is 80 or over"}}],
    "benefit": {"kind": "cash_yearly", "amount": "12000", "fund": "FP-REWARD"},
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def app_db(migrated_database, nats_url) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    url = await migrated_database("entitlements")
    app = create_app(EntitlementsSettings(database_url=url, nats_url=nats_url, environment="test"))
    async with running(app) as client:
        yield client, url


@pytest.fixture
def admin(tokens) -> dict[str, str]:
    return tokens.headers(sub="admin-1", roles=["admin", "approver"], region="360702")


@pytest.fixture
def approver(tokens) -> dict[str, str]:
    return tokens.headers(sub="approver-1", roles=["approver"], region="360702")


async def test_library_is_seeded_as_active_versions_once(app_db, admin) -> None:
    client, url = app_db
    response = await client.get("/v1/policies", params={"status": "active"}, headers=admin)
    assert response.status_code == 200
    codes = sorted(p["code"] for p in response.json())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(p["drafted_by"] == "library" and p["batch_ok"] for p in response.json())
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from carekit.db.engine import sqlalchemy_url
    from entitlements.service.policies import seed_library

    engine = create_async_engine(sqlalchemy_url(url))
    async with AsyncSession(engine) as session:
        assert await seed_library(session) == []  # idempotent: nothing added the second time
    await engine.dispose()
    one = await client.get("/v1/policies/rural-reward-assistance/versions/1", headers=admin)
    assert one.status_code == 200 and one.json()["policy"]["benefit"]["amount"] == "96000"


@pytest.mark.parametrize(("expr", "field", "column"), [
    ("person.agee >= 80", "criteria[0].expr", 8),  # at the unknown field
    ("person.age >= '80'", "criteria[0].expr", None),
    ("person.age >= ", "criteria[0].expr", None),
])
async def test_bad_cel_is_422_with_position_and_nothing_stored(app_db, admin, expr, field, column) -> None:
    client, url = app_db
    body = copy.deepcopy(DRAFT) | {"code": "test-bad-cel"}
    body["criteria"][0]["expr"] = expr
    response = await client.post("/v1/policies", json=body, headers=admin)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["field"] == field and problem["position"]["line"] == 1 and problem["detail_zh"]
    if column is not None:
        assert problem["position"]["column"] == column
    assert await fetch(url, "SELECT 1 FROM policy_versions WHERE code = 'test-bad-cel'") == []


async def test_outside_the_sql_subset_is_refused_for_batch_use(app_db, admin) -> None:
    client, _ = app_db
    body = copy.deepcopy(DRAFT) | {"code": "test-macro"}
    body["criteria"][0]["expr"] = "[1, 2].exists(x, x == person.age)"
    response = await client.post("/v1/policies", json=body, headers=admin)
    assert response.status_code == 422
    assert response.json()["type"].endswith("batch-unsupported") and "batch" in response.json()["detail"]
    accepted = await client.post("/v1/policies", json=body | {"batch": False}, headers=admin)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["batch_ok"] is False and accepted.json()["batch_problem"]["field"] == "criteria[0].expr"


async def test_draft_activate_maker_checker_and_overlap(app_db, admin, approver, tokens) -> None:
    client, url = app_db
    created = await client.post("/v1/policies", json=DRAFT, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1 and created.json()["status"] == "draft"
    assert (await client.post("/v1/policies", json=DRAFT, headers=approver)).status_code == 403  # not an admin
    own = await client.post("/v1/policies/test-elderly-bonus/versions/1/activate", headers=admin)
    assert own.status_code == 403 and own.json()["detail_zh"]
    assert (await fetch(url, "SELECT status FROM policy_versions WHERE code = 'test-elderly-bonus'"))[0][0] == "draft"
    done = await client.post("/v1/policies/test-elderly-bonus/versions/1/activate", headers=approver)
    assert done.status_code == 200 and done.json()["status"] == "active" and done.json()["approved_by"] == "approver-1"
    again = await client.post("/v1/policies/test-elderly-bonus/versions/1/activate", headers=approver)
    assert again.status_code == 409
    second = await client.post("/v1/policies", json=DRAFT | {"effective_from": "2026-06-01"}, headers=admin)
    assert second.json()["version"] == 2
    clash = await client.post("/v1/policies/test-elderly-bonus/versions/2/activate", headers=approver)
    assert clash.status_code == 409 and clash.json()["active_version"] == 1
    assert (await fetch(url, "SELECT status FROM policy_versions WHERE code = 'test-elderly-bonus' "
                             "AND version = 2"))[0][0] == "draft"
    elsewhere = await client.post("/v1/policies", json=DRAFT | {"jurisdiction": "360703"}, headers=admin)
    assert elsewhere.status_code == 403
    assert (await client.get("/v1/policies/test-elderly-bonus/versions/9", headers=admin)).status_code == 404
    audit = await fetch(url, "SELECT actor, action FROM audit_log WHERE entity = 'policy/test-elderly-bonus/v1' "
                             "ORDER BY id")
    assert [tuple(r) for r in audit] == [("admin-1", "policy.drafted"), ("approver-1", "policy.activated")]


async def test_activation_reaches_the_evaluation_paths(app_db, admin, approver, tokens) -> None:
    """A freshly activated policy is listed in a person's explained entitlements at once."""
    client, url = app_db
    from entitlements_support import ONE_CHILD, household, load_rows, pid
    from sqlalchemy.ext.asyncio import create_async_engine

    from carekit.db.engine import sqlalchemy_url

    engine = create_async_engine(sqlalchemy_url(url))
    async with engine.begin() as conn:
        await load_rows(conn, household(ONE_CHILD))
    await engine.dispose()
    body = DRAFT | {"code": "test-sixty-bonus", "criteria": [
        {"expr": "person.age >= 60", "label": {"zh": "{subject}年满60周岁", "en": "{subject} is 60 or over"}}]}
    await client.post("/v1/policies", json=body, headers=admin)
    path = f"/v1/persons/{pid(ONE_CHILD, 'dad')}/entitlements?as_of=2026-06-01"
    before = (await client.get(path, headers=admin)).json()
    assert "test-sixty-bonus" not in {e["policy"] for e in before["entitlements"]}
    await client.post("/v1/policies/test-sixty-bonus/versions/1/activate", headers=approver)
    after = (await client.get(path, headers=admin)).json()
    bonus = next(e for e in after["entitlements"] if e["policy"] == "test-sixty-bonus")
    assert bonus["eligible"] and bonus["amount"] == 12000
    retired = await client.post("/v1/policies/test-sixty-bonus/versions/1/retire", headers=approver)
    assert retired.status_code == 200
    final = (await client.get(path, headers=admin)).json()
    assert "test-sixty-bonus" not in {e["policy"] for e in final["entitlements"]}


@pytest.mark.parametrize("version", [2**31, 2**64 + 1, 92178987536498521711147220992])
@pytest.mark.parametrize("action", ["", "/activate", "/retire"])
async def test_a_version_beyond_the_column_is_a_422_naming_it(app_db, admin, version: int, action: str) -> None:
    """Issue 13: a version beyond 32/64 bits was a 500 (the database refused the number)."""
    client, _ = app_db
    path = f"/v1/policies/rural-reward-assistance/versions/{version}{action}"
    response = await (client.get(path, headers=admin) if not action else client.post(path, headers=admin))
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["path.version"]


async def test_a_simulated_draft_version_beyond_the_column_is_a_422(app_db, admin) -> None:
    client, _ = app_db
    response = await client.post("/v1/simulations", headers=admin, json={
        "as_of": "2026-06-01", "draft": {"code": "test-elderly-bonus", "version": 2**40}})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "body.draft.version"


async def test_an_expression_nested_too_deeply_is_a_422_not_a_500(app_db, admin) -> None:
    client, _ = app_db
    response = await client.post("/v1/simulations", headers=admin, json={
        "as_of": "2026-06-01", "change": {"code": "rural-reward-assistance", "amount": "-" * 3999 + "1"}})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "benefit.amount" and "deeply" in response.json()["detail"]


async def test_a_drafts_sources_are_kept_not_dropped(app_db, admin) -> None:
    client, _ = app_db
    sources = [{"document": "章贡〔2026〕7号", "title": "高龄奖励办法", "note": "第三条"}]
    created = await client.post("/v1/policies", json=DRAFT | {"code": "test-sourced", "sources": sources},
                                headers=admin)
    assert created.status_code == 201, created.text
    stored = await client.get("/v1/policies/test-sourced/versions/1", headers=admin)
    assert stored.json()["policy"]["sources"] == sources


def test_the_draft_schema_states_the_servers_limits() -> None:
    """Schema-valid drafts were refused: the OpenAPI now says what the server checks by shape."""
    from entitlements.domain.policy import CODE_PATTERN, FUND_PATTERN, JURISDICTION_PATTERN, BenefitKind

    app = create_app(EntitlementsSettings(database_url="postgresql+asyncpg://unused@127.0.0.1:1/none"))
    schemas = app.openapi()["components"]["schemas"]
    draft, benefit = schemas["PolicyCreate"]["properties"], schemas["BenefitIn"]["properties"]
    assert draft["code"]["pattern"] == CODE_PATTERN and draft["jurisdiction"]["pattern"] == JURISDICTION_PATTERN
    assert draft["subject"]["enum"] == ["person", "household"]
    assert draft["jurisdiction_basis"]["enum"] == ["hukou", "residence"]
    assert draft["criteria"]["minItems"] == 1
    assert benefit["kind"]["enum"] == [k.value for k in BenefitKind]
    assert benefit["fund"]["anyOf"][0]["pattern"] == FUND_PATTERN
    assert schemas["WordsIn"]["properties"]["zh"]["pattern"] == r"\S"
    version = next(p for p in app.openapi()["paths"]["/v1/policies/{code}/versions/{version}"]["get"]["parameters"]
                   if p["name"] == "version")
    assert version["schema"]["maximum"] == 2**31 - 1 and version["schema"]["minimum"] == 1


@pytest.mark.parametrize(("field", "value"), [
    ("code", ""), ("code", "Bad-Code"), ("subject", ""), ("jurisdiction", "3607021"), ("jurisdiction", "٣٦"),
    ("legal_basis", "   "), ("criteria", []), ("name", {"zh": " ", "en": "x"}),
    ("benefit", {"kind": "", "amount": "0"}), ("benefit", {"kind": "cash_yearly", "fund": "fp reward"}),
])
async def test_a_draft_outside_the_schema_is_refused_by_the_schema(app_db, admin, field: str, value) -> None:
    client, _ = app_db
    response = await client.post("/v1/policies", json=DRAFT | {"code": "test-shape", field: value}
                                 if field != "code" else DRAFT | {field: value}, headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["type"].endswith("validation-error")
    assert all(e["field"].startswith(f"body.{field}") for e in response.json()["errors"]), response.json()["errors"]
