"""Each operation's OpenAPI lists the problem responses the kit can give it, and only those: 401 where
a token is needed, 403 where roles are, 422 with parameters or a body, 400/409 on POSTs, 400 on paged
lists, 412/428 with If-Match, 500 anywhere; problems are application/problem+json."""

import re
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, Query
from kitapp.app import make_app
from pydantic import BaseModel

from carekit.auth.deps import CurrentPrincipal, require_roles
from carekit.auth.principal import Principal
from carekit.http.control_characters import REFUSED
from carekit.http.openapi import TEXT_PATTERN
from carekit.http.problems import PROBLEM_JSON

PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


class Thing(BaseModel):
    name: str


def extra_router() -> APIRouter:
    router = APIRouter(prefix="/v1/extra")

    @router.get("/open")
    async def open_door() -> dict:
        return {}

    @router.get("/filtered")
    async def filtered(principal: CurrentPrincipal, name: Annotated[str, Query()] = "") -> dict:
        return {}

    @router.put("/things")
    async def put_thing(thing: Thing, _: Annotated[Principal, Depends(require_roles("admin"))]) -> dict:
        return {}

    return router


@pytest.fixture(scope="module")
def spec() -> dict:
    app = make_app("spec", "postgresql+asyncpg://unused@127.0.0.1:1/x", "nats://127.0.0.1:1")
    app.include_router(extra_router())
    return app.openapi()


def statuses(spec: dict, method: str, path: str) -> set[str]:
    return set(spec["paths"][path][method]["responses"])


@pytest.mark.parametrize(("method", "path", "expected"), [
    ("get", "/healthz", {"200", "500"}),
    ("get", "/readyz", {"200", "500", "503"}),
    ("get", "/v1/me", {"200", "401", "500"}),
    ("get", "/v1/extra/open", {"200", "500"}),
    ("get", "/v1/extra/filtered", {"200", "401", "422", "500"}),
    ("put", "/v1/extra/things", {"200", "400", "401", "403", "422", "500"}),
    ("get", "/v1/ops/dead-letters", {"200", "401", "403", "422", "500", "503"}),
    ("post", "/v1/ops/dead-letters/{seq}/replay", {"200", "400", "401", "403", "404", "409", "422", "500", "503"}),
    ("delete", "/v1/ops/dead-letters/{seq}", {"204", "401", "403", "404", "422", "500", "503"}),
])
def test_operations_list_exactly_what_the_kit_and_the_code_answer(spec, method, path, expected) -> None:
    assert statuses(spec, method, path) == expected


def test_service_declared_responses_are_kept_and_completed(spec) -> None:
    # kitapp's routers declare PROBLEM_RESPONSES (400 401 403 404 409 422) themselves.
    assert statuses(spec, "get", "/v1/notes") >= {"400", "401", "404", "422", "500"}
    assert {"412", "428"} <= statuses(spec, "patch", "/v1/notes/{note_id}")  # declares If-Match
    assert not {"412", "428"} & statuses(spec, "get", "/v1/notes/{note_id}")


def test_problems_are_problem_json_only(spec) -> None:
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert response["content"] == PROBLEM_CONTENT, (method, path, status)
                    assert response["description"]
    assert "FieldError" in spec["components"]["schemas"]


def test_the_hook_is_idempotent(spec) -> None:
    app = make_app("spec2", "postgresql+asyncpg://unused@127.0.0.1:1/x", "nats://127.0.0.1:1")
    assert app.openapi() == app.openapi()


def test_free_text_a_request_sends_states_the_control_character_rule(spec) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["Thing"]["properties"]["name"]["pattern"] == TEXT_PATTERN
    name = next(p for p in spec["paths"]["/v1/extra/filtered"]["get"]["parameters"] if p["name"] == "name")
    assert name["schema"]["pattern"] == TEXT_PATTERN
    note_id = spec["paths"]["/v1/notes/{note_id}"]["get"]["parameters"][0]["schema"]
    assert note_id["format"] == "uuid" and "pattern" not in note_id
    assert schemas["NoteCreate"]["properties"]["region"]["pattern"] == r"^\d{12}$"  # its own rule stays
    assert "pattern" not in schemas["PrincipalPublic"]["properties"]["sub"]  # only in responses


def test_the_pattern_refuses_what_the_middleware_refuses() -> None:
    for codepoint in range(0x100):
        text = f"a{chr(codepoint)}b"
        assert (re.match(TEXT_PATTERN, text) is None) == bool(REFUSED.search(text)), hex(codepoint)


def test_keys_and_unnamed_fields_of_a_request_object_state_the_rule_too(spec) -> None:
    thing = spec["components"]["schemas"]["Thing"]
    assert thing["propertyNames"] == {"pattern": TEXT_PATTERN}
    assert thing["additionalProperties"] == {"$ref": "#/components/schemas/JsonWithoutControlCharacters"}
    anything = spec["components"]["schemas"]["JsonWithoutControlCharacters"]["anyOf"]
    assert {"type": "string", "pattern": TEXT_PATTERN} in anything


def test_a_pattern_of_its_own_that_lets_controls_through_gets_the_rule_alongside() -> None:
    app = make_app("spec3", "postgresql+asyncpg://unused@127.0.0.1:1/x", "nats://127.0.0.1:1")
    router = APIRouter()

    @router.get("/v1/open-pattern")
    async def open_pattern(q: Annotated[str, Query(pattern=r"\S")], code: Annotated[str, Query(pattern=r"^\d{6}$")]):
        return {}

    app.include_router(router)
    params = {p["name"]: p["schema"] for p in app.openapi()["paths"]["/v1/open-pattern"]["get"]["parameters"]}
    assert params["q"]["allOf"] == [{"pattern": TEXT_PATTERN}]
    assert "allOf" not in params["code"]


def test_free_form_values_a_request_sends_are_json_without_control_characters() -> None:
    from typing import Any

    class Loose(BaseModel):
        facts: dict[str, Any]
        value: Any = None

    app = make_app("spec4", "postgresql+asyncpg://unused@127.0.0.1:1/x", "nats://127.0.0.1:1")
    router = APIRouter()

    @router.post("/v1/loose")
    async def loose(body: Loose) -> dict:
        return {}

    app.include_router(router)
    properties = app.openapi()["components"]["schemas"]["Loose"]["properties"]
    clean = {"$ref": "#/components/schemas/JsonWithoutControlCharacters"}
    assert properties["facts"]["additionalProperties"] == clean
    assert properties["value"]["allOf"] == [clean]
