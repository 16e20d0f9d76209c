"""Every error is RFC 9457 problem+json with a stable `type` and Chinese text."""

import uuid

import httpx
import pytest
import pytest_asyncio

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"urn:guanhuai:problem:{slug}"
    assert body["status"] == status
    assert body["title"] and body["title_zh"] and body["detail"] and body["detail_zh"]
    assert body["instance"] == response.request.url.path
    return body


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def raw_client(kit):
    """A client that gets the 500 response instead of the app's exception re-raised into the test."""

    async def boom() -> None:
        raise RuntimeError("password=hunter2 at db-7.internal")

    kit.app.add_api_route("/v1/boom", boom, methods=["GET", "POST"])
    transport = httpx.ASGITransport(app=kit.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_validation_error_lists_fields(kit, tokens) -> None:
    response = await kit.client.post("/v1/notes", json={"region": "3607"},
                                     headers=tokens.headers(roles=["caseworker"], region="36"))
    body = assert_problem(response, 422, "validation-error")
    errors = {e["field"]: e for e in body["errors"]}
    assert set(errors) == {"body.region", "body.body"}
    assert errors["body.body"]["message_zh"] == "缺少必填字段"
    assert errors["body.region"]["message_zh"] == "格式不正确"
    assert all(e["message"] for e in errors.values())
    assert "body.region" in body["detail"] and "body.region" in body["detail_zh"]


async def test_query_validation_error(kit, tokens) -> None:
    response = await kit.client.get("/v1/notes?limit=abc", headers=tokens.headers(roles=["citizen"]))
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"] == [{"field": "query.limit", "message": body["errors"][0]["message"],
                               "message_zh": "应为整数"}]


async def test_path_validation_error(kit, tokens) -> None:
    response = await kit.client.get("/v1/notes/not-a-uuid", headers=tokens.headers(roles=["citizen"]))
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"][0]["field"] == "path.note_id"


async def post_raw(kit, tokens, content: bytes):  # noqa: ANN201
    return await kit.client.post(
        "/v1/notes", content=content,
        headers={**tokens.headers(roles=["caseworker"], region="36"), "content-type": "application/json"})


async def test_malformed_json_is_422_naming_line_and_column(kit, tokens) -> None:
    response = await post_raw(kit, tokens, b'{"region": "360702001001" "body": "x"}')
    body = assert_problem(response, 422, "invalid-json")
    assert body["errors"] == [{
        "field": "body",
        "message": "Invalid JSON at line 1, column 27: Expecting ',' delimiter",
        "message_zh": "JSON 格式错误：第 1 行第 27 列，缺少逗号分隔符",
    }]
    assert "line 1, column 27" in body["detail"] and "body.26" not in body["detail"]
    assert "第 1 行第 27 列" in body["detail_zh"]


async def test_malformed_json_on_a_later_line(kit, tokens) -> None:
    response = await post_raw(kit, tokens, b'{\n  "region": "360702001001",\n  "body": \n')
    body = assert_problem(response, 422, "invalid-json")
    assert body["errors"][0]["field"] == "body"
    assert body["errors"][0]["message"] == "Invalid JSON at line 4, column 1: Expecting value"


async def test_json_array_instead_of_object_is_422(kit, tokens) -> None:
    response = await kit.client.post("/v1/notes", json=["360702001001", "hi"],
                                     headers=tokens.headers(roles=["caseworker"], region="36"))
    assert_problem(response, 422, "validation-error")


async def test_unknown_route_is_404_problem(kit) -> None:
    assert_problem(await kit.client.get("/v1/nowhere"), 404, "not-found")


def allowed(response) -> set[str]:
    return {method.strip() for method in response.headers["allow"].split(",")}


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH", "OPTIONS"])
async def test_wrong_method_on_a_get_and_post_path_allows_both(kit, tokens, method) -> None:
    # `GET /v1/notes` and `POST /v1/notes` are two routes: Starlette names only the first one it meets.
    response = await kit.client.request(method, "/v1/notes", headers=tokens.headers(roles=["admin"]))
    assert_problem(response, 405, "method-not-allowed")
    assert allowed(response) == {"GET", "POST"}


@pytest.mark.parametrize("method", ["POST", "DELETE", "HEAD"])
async def test_wrong_method_on_a_get_only_path_allows_get(kit, method) -> None:
    response = await kit.client.request(method, "/v1/me")
    assert response.status_code == 405
    assert allowed(response) == {"GET"}


async def test_wrong_method_on_a_path_with_a_parameter(kit, tokens) -> None:
    response = await kit.client.post(f"/v1/notes/{uuid.uuid4()}", headers=tokens.headers(roles=["admin"]))
    assert_problem(response, 405, "method-not-allowed")
    assert allowed(response) == {"GET", "PATCH"}


async def test_unhandled_exception_is_500_without_the_exception_text(raw_client) -> None:
    response = await raw_client.get("/v1/boom", headers={"x-request-id": "req-500"})
    body = assert_problem(response, 500, "internal-error")
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert body["request_id"] == "req-500"


async def test_problem_carries_the_request_id(kit) -> None:
    response = await kit.client.get("/v1/nowhere", headers={"x-request-id": "abc-123"})
    assert response.json()["request_id"] == "abc-123"
    assert response.headers["x-request-id"] == "abc-123"


async def test_allow_names_the_concrete_path_not_a_template_that_also_matches(kit, tokens) -> None:
    # `GET /v1/notes/{note_id}` and `PATCH` match `/v1/notes/export` too; the resource documented there is POST only.
    async def export() -> dict:
        return {}

    kit.app.add_api_route("/v1/notes/export", export, methods=["POST"])
    response = await kit.client.put("/v1/notes/export", headers=tokens.headers(roles=["admin"]))
    assert_problem(response, 405, "method-not-allowed")
    assert allowed(response) == {"POST"}
