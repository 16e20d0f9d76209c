"""One kit rule: NUL and other control characters in client text are refused with 422 naming the field
(PostgreSQL text cannot hold a NUL: it was a 500), in JSON bodies at any depth, query and path parameters."""

import json
import uuid

import httpx
import pytest
import pytest_asyncio
from fastapi import APIRouter, Query, Request, UploadFile
from pydantic import BaseModel

from carekit.http.control_characters import refused_in

PROBLEM = "application/problem+json"


class Member(BaseModel):
    name: str
    tags: dict[str, str] = {}


class Household(BaseModel):
    address: str
    members: list[Member] = []


def echo_router() -> APIRouter:
    """Endpoints that accept any text and echo it, so that only the kit's rule can refuse it."""
    router = APIRouter(prefix="/v1/echo")

    @router.post("/households")
    async def echo_household(body: Household) -> Household:
        return body

    @router.get("/search")
    async def echo_search(name: str = "", q: list[str] = Query(default=[])) -> dict:  # noqa: B008
        return {"name": name, "q": q}

    @router.get("/codes/{code}")
    async def echo_code(code: str) -> dict:
        return {"code": code}

    @router.post("/raw")
    async def echo_raw(request: Request) -> dict:
        chunks = [chunk async for chunk in request.stream() if chunk]
        return {"chunks": len(chunks), "size": sum(map(len, chunks))}

    @router.post("/ping")
    async def ping() -> dict:
        return {}

    @router.post("/upload")
    async def echo_upload(file: UploadFile) -> dict:
        return {"size": len(await file.read())}

    return router


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def client(kit):
    kit.app.include_router(echo_router())
    transport = httpx.ASGITransport(app=kit.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as raw:
        yield raw


def assert_refused(response, *fields: str) -> list[dict]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "urn:guanhuai:problem:validation-error"
    assert [e["field"] for e in body["errors"]] == list(fields)
    assert all(e["message"] and e["message_zh"] for e in body["errors"])
    assert all(field in body["detail"] and field in body["detail_zh"] for field in fields)
    return body["errors"]


async def post_json(client, path: str, payload: object) -> httpx.Response:
    return await client.post(path, content=json.dumps(payload), headers={"content-type": "application/json"})


async def test_a_nul_in_a_household_address_is_refused_naming_it(client) -> None:
    errors = assert_refused(await post_json(client, "/v1/echo/households", {"address": "1 Main St\u0000"}),
                            "body.address")
    assert "U+0000" in errors[0]["message"] and "U+0000" in errors[0]["message_zh"]


async def test_a_nul_in_a_notes_body_is_refused_before_the_database(kit, tokens) -> None:
    headers = tokens.headers(roles=["caseworker"], region="360702")
    response = await kit.client.post("/v1/notes", json={"region": "360702001001", "body": "a\x00b"},
                                     headers=headers)
    assert_refused(response, "body.body")
    assert await kit.fetchval("SELECT count(*) FROM notes WHERE body LIKE 'a%b'") == 0


async def test_nested_fields_and_keys_are_named_as_sent(client) -> None:
    payload = {"address": "ok", "members": [{"name": "ok"}, {"name": "Li\u001bWei", "tags": {"k\u0007": "v"}}]}
    assert_refused(await post_json(client, "/v1/echo/households", payload),
                   "body.members.1.name", "body.members.1.tags.k\\u0007")


@pytest.mark.parametrize("char", ["\u0001", "\u0008", "\u000b", "\u000c", "\u001f", "\u007f", "\u0085", "\u009b"])
async def test_other_controls_del_and_c1_are_refused(client, char) -> None:
    assert_refused(await post_json(client, "/v1/echo/households", {"address": f"x{char}y"}), "body.address")


async def test_a_raw_del_and_raw_c1_in_utf8_are_refused(client) -> None:
    for raw in (b'{"address": "x\x7fy"}', '{"address": "x\u0085y"}'.encode()):
        response = await client.post("/v1/echo/households", content=raw, headers={"content-type": "application/json"})
        assert_refused(response, "body.address")


async def test_tab_newline_and_carriage_return_are_text(client) -> None:
    address = "Room 3\tBlock 2\r\nGanzhou 赣州 · 阿依古丽·买买提 é"
    response = await post_json(client, "/v1/echo/households", {"address": address, "members": [{"name": "a\nb"}]})
    assert response.status_code == 200, response.text
    assert response.json()["address"] == address


async def test_an_escaped_backslash_is_not_a_control_character(client) -> None:
    response = await post_json(client, "/v1/echo/households", {"address": "C:\\u0000 is text"})
    assert response.status_code == 200, response.text
    assert response.json()["address"] == "C:\\u0000 is text"


async def test_query_parameters_are_checked(client) -> None:
    assert_refused(await client.get("/v1/echo/search?name=Li%00Wei"), "query.name")
    assert_refused(await client.get("/v1/echo/search?q=ok&q=%7F"), "query.q")
    assert_refused(await client.get("/v1/echo/search?name=%C2%85"), "query.name")
    ok = await client.get("/v1/echo/search?name=%E8%B5%A3%E5%B7%9E%09x&q=%C2%B7")
    assert ok.status_code == 200 and ok.json() == {"name": "赣州\tx", "q": ["·"]}


async def test_path_parameters_are_checked(client, kit, tokens) -> None:
    assert_refused(await client.get("/v1/echo/codes/FP%00X"), "path.code")
    assert (await client.get("/v1/echo/codes/FP-X")).json() == {"code": "FP-X"}
    note = f"/v1/notes/{uuid.uuid4()}%1B"
    assert_refused(await kit.client.get(note, headers=tokens.headers(roles=["citizen"])), "path.note_id")


async def test_a_control_character_outside_any_route_is_a_plain_404_or_405(client) -> None:
    assert (await client.get("/v1/nowhere%00")).status_code == 404
    assert (await client.delete("/v1/echo/codes/FP%00X")).status_code == 405


async def test_what_the_route_does_not_take_is_ignored_not_refused(client) -> None:
    # The route never reads an undeclared query parameter or a body it does not take.
    assert (await client.get("/v1/echo/search?name=ok&other=%00")).status_code == 200
    assert (await post_json(client, "/v1/echo/ping", {"x": "\u0000"})).status_code == 200
    assert (await client.get("/healthz", params={"x": "\u0000"})).status_code == 200


async def test_uploaded_files_are_the_importers_concern(client) -> None:
    # Multipart bodies (the registry's CSV imports) are not read by the kit: the importer validates rows.
    response = await client.post("/v1/echo/upload", files={"file": ("people.csv", b"name\nLi\x00Wei\n")})
    assert response.status_code == 200, response.text
    assert response.json() == {"size": 12}


async def test_a_body_sent_in_several_chunks_is_checked_and_replayed_whole(client) -> None:
    async def chunks():  # noqa: ANN202
        yield b'{"address": "1 Main'
        yield b' St", "members": [{"name": "Li'
        yield b'\\u0000"}]}'

    response = await client.post("/v1/echo/households", content=chunks(), headers={"content-type": "application/json"})
    assert_refused(response, "body.members.0.name")

    async def good():  # noqa: ANN202
        yield b'{"address": "1 Main'
        yield b' St"}'

    response = await client.post("/v1/echo/households", content=good(), headers={"content-type": "application/json"})
    assert response.status_code == 200 and response.json()["address"] == "1 Main St"


def test_refused_in_walks_keys_and_values_at_any_depth() -> None:
    found = refused_in({"a": [{"b\u0000": ["ok", {"c": "\u0001"}]}], "d": 1, "e": None}, "body")
    assert [(field, codepoint) for field, codepoint, _ in found] == [
        ("body.a.0.b\\u0000", 0), ("body.a.0.b\\u0000.1.c", 1)]


def test_refused_in_survives_deep_nesting() -> None:
    value: object = "x\u0000"
    for _ in range(5000):
        value = [value]
    [(field, codepoint, _)] = refused_in(value, "body")
    assert codepoint == 0 and field.startswith("body.0.0.")


async def test_a_large_body_an_endpoint_reads_itself_is_not_buffered(client) -> None:
    async def chunks():  # noqa: ANN202 - no Content-Length: the kit cannot know it is small
        yield b'{"a": "'
        yield b'x" }'

    response = await client.post("/v1/echo/raw", content=chunks(), headers={"content-type": "application/json"})
    assert response.json() == {"chunks": 2, "size": 11}
    small = await client.post("/v1/echo/raw", content=b'{"a": "x"}', headers={"content-type": "application/json"})
    assert small.json() == {"chunks": 1, "size": 10}


async def test_a_large_body_fastapi_parses_is_still_checked(client) -> None:
    payload = {"address": "x" * (2 << 20), "members": [{"name": "\u0000"}]}
    assert_refused(await post_json(client, "/v1/echo/households", payload), "body.members.0.name")
