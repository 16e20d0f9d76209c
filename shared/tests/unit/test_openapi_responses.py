"""Each operation's OpenAPI lists the problem responses the kit can give it, and only those: 401 where
a token is needed, 403 where roles are, 422 with parameters or a body, 400/409 on POSTs, 400 on paged
lists, 412/428 with If-Match, 500 anywhere; problems are application/problem+json."""

from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, Query
from kitapp.app import make_app
from pydantic import BaseModel

from carekit.auth.deps import CurrentPrincipal, require_roles
from carekit.auth.principal import Principal
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
