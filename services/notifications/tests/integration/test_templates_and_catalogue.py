"""Templates over HTTP on real PostgreSQL: validation, preview, seeded defaults; the event catalogue."""

import jsonschema
import pytest
import pytest_asyncio
from notifications_support import notifications

SIGN = "【XX县卫健委】"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(migrated_database, nats_url):  # noqa: ANN001, ANN201
    url = await migrated_database("notifications")
    async with notifications(url, nats_url, sender_enabled=False, webhooks_enabled=False) as client:
        yield client


def admin(tokens) -> dict:  # noqa: ANN001
    return tokens.headers(roles=["admin"], region="360702")


async def test_default_zh_templates_are_seeded(api, tokens) -> None:  # noqa: ANN001
    response = await api.get("/v1/templates", headers=admin(tokens))
    assert response.status_code == 200
    codes = {t["code"]: t for t in response.json()}
    assert {"decision_granted", "payment_failed", "satisfaction_survey"} <= set(codes)
    assert codes["satisfaction_survey"]["category"] == "marketing"
    assert codes["payment_failed"]["urgent"] is True


async def test_unknown_placeholders_are_named_in_the_problem(api, tokens) -> None:  # noqa: ANN001
    body = {
        "body": "{name}您好，您的{salary}和${bonus}已到账。",
        "signature": SIGN,
        "category": "statutory",
        "provider_template_ids": {"aliyun": "SMS_9"},
    }
    response = await api.put("/v1/templates/bad_one", json=body, headers=admin(tokens))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["unknown_placeholders"] == ["salary", "bonus"]
    assert problem["detail_zh"] and "salary" in problem["detail_zh"]
    missing = await api.get("/v1/templates/bad_one", headers=admin(tokens))
    assert missing.status_code == 404


async def test_marketing_without_unsubscribe_line_is_refused(api, tokens) -> None:  # noqa: ANN001
    body = {
        "body": "欢迎参加健康讲座",
        "signature": SIGN,
        "category": "marketing",
        "provider_template_ids": {"tencent": "100"},
    }
    response = await api.put("/v1/templates/lecture", json=body, headers=admin(tokens))
    assert response.status_code == 422
    assert any(e["field"] == "body" for e in response.json()["errors"])


async def test_create_then_preview_reports_length_and_parts(api, tokens) -> None:  # noqa: ANN001
    filler = "字" * (70 - len(SIGN) - 2)
    body = {
        "body": filler + "{name}",
        "signature": SIGN,
        "category": "statutory",
        "provider_template_ids": {"aliyun": "SMS_1", "tencent": "1"},
    }
    created = await api.put("/v1/templates/long_notice", json=body, headers=admin(tokens))
    assert created.status_code == 200, created.text
    assert created.json()["placeholders"] == ["name"]
    one = await api.post("/v1/templates/long_notice/preview", json={"values": {"name": "王二"}}, headers=admin(tokens))
    assert one.json() | {"text": ""} == {"text": "", "length": 70, "parts": 1, "placeholders": ["name"]}
    assert one.json()["text"].startswith(SIGN) and one.json()["text"].endswith("王二")
    two = await api.post(
        "/v1/templates/long_notice/preview", json={"values": {"name": "王小二"}}, headers=admin(tokens)
    )
    assert (two.json()["length"], two.json()["parts"]) == (71, 2)
    again = await api.put("/v1/templates/long_notice", json=body, headers=admin(tokens))
    assert again.json()["version"] == 2


async def test_templates_need_an_admin_to_write(api, tokens) -> None:  # noqa: ANN001
    body = {"body": "您好", "signature": SIGN, "category": "statutory", "provider_template_ids": {"aliyun": "x"}}
    response = await api.put(
        "/v1/templates/x1", json=body, headers=tokens.headers(roles=["caseworker"], region="360702")
    )
    assert response.status_code == 403


async def test_event_catalogue_covers_every_service_with_schemas(api, tokens) -> None:  # noqa: ANN001
    response = await api.get("/v1/event-types", headers=tokens.headers(roles=["partner"], agency="mz", region="3607"))
    assert response.status_code == 200
    catalogue = {e["type"]: e for e in response.json()}
    assert {e.split(".")[0] for e in catalogue} == {"registry", "entitlements", "relief"}
    assert "registry.person.died" in catalogue and "entitlements.cycle.approved" in catalogue
    schema = catalogue["relief.payment.failed"]["schema"]
    good = {
        "payment_id": "8e2b7c1e-4c55-4c0e-9a55-5a6d1c1e2f00",
        "end_to_end_id": "E2E-1",
        "payee_person_id": "8e2b7c1e-4c55-4c0e-9a55-5a6d1c1e2f01",
        "household_id": "8e2b7c1e-4c55-4c0e-9a55-5a6d1c1e2f02",
        "region_code": "360702001001",
        "amount_fen": 96000,
        "reason": {"zh": "账户已注销", "en": "account closed"},
        "occurred_at": "2026-11-24T10:00:00+08:00",
    }
    jsonschema.validate(good, schema)
    try:
        jsonschema.validate(good | {"phone": "+8613800138000"}, schema)
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("a phone number must not fit a relief event")
    one = await api.get("/v1/event-types/registry.person.died", headers=admin(tokens))
    assert one.status_code == 200 and one.json()["producer"] == "registry"
    assert (await api.get("/v1/event-types/nope.x", headers=admin(tokens))).status_code == 404


GOOD_TEMPLATE = {
    "body": "{name}您好，您家已符合{policy_name}条件，标准{amount_yuan}元。",
    "signature": "【XX县卫健委】",
    "category": "statutory",
    "provider_template_ids": {"aliyun": "SMS_123456"},
}


@pytest.mark.parametrize(
    ("code", "changes"),
    [
        ("agree_ok", {}),
        ("agree_marketing", {"category": "marketing", "survey": True, "body": "{name}您好，请回复1-5评价。回T退订"}),
        ("0", {}),  # the fuzzer's schema-valid code the server refused
        ("agree_ad", {"category": "marketing", "body": "{name}您好，欢迎参加健康讲座。"}),
        ("agree_survey", {"survey": True}),
        ("agree_unknown", {"body": "{nmae}您好"}),
        ("agree_brace", {"body": "您好 {"}),
        ("agree_blank", {"body": "   "}),
        ("agree_sign", {"signature": "XX县卫健委"}),
        ("agree_provider", {"provider_template_ids": {"huawei": "1"}}),
        ("agree_none", {"provider_template_ids": {}}),
        ("agree_urgent", {"urgent": 0}),  # a number is not a boolean
    ],
)
async def test_the_openapi_and_the_server_agree_on_templates(api, tokens, code: str, changes: dict) -> None:  # noqa: ANN001
    """A template the OpenAPI document allows is saved; one it does not is refused with 422."""
    import re

    document = api.app.openapi()
    operation = document["paths"]["/v1/templates/{code}"]["put"]
    [code_parameter] = [p for p in operation["parameters"] if p["name"] == "code"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"] | {"components": document["components"]}
    body = GOOD_TEMPLATE | changes
    allowed = re.search(code_parameter["schema"]["pattern"], code) is not None and jsonschema.Draft202012Validator(
        schema
    ).is_valid(body)
    response = await api.put(f"/v1/templates/{code}", json=body, headers=admin(tokens))
    assert response.status_code == (200 if allowed else 422), (allowed, response.text)
