"""Problem bodies built from `ProblemError`s, on a bare FastAPI app."""

import httpx
from fastapi import FastAPI

from carekit.http.problems import ProblemError, conflict, install_problem_handlers


async def get_raising(error: Exception) -> httpx.Response:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/x")
    async def x() -> None:
        raise error

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/x")


async def test_extensions_and_headers_are_sent() -> None:
    error = conflict("already-decided", "It was decided.", "已决定。", decided_by="u-9")
    error.headers["Retry-After"] = "3"
    response = await get_raising(error)
    assert response.status_code == 409
    assert response.headers["retry-after"] == "3"
    body = response.json()
    assert body["type"] == "urn:guanhuai:problem:already-decided"
    assert body["decided_by"] == "u-9"
    assert body["detail_zh"] == "已决定。"


async def test_extension_cannot_overwrite_the_standard_members() -> None:
    # e.g. conflict(..., status=application.status) from a service
    response = await get_raising(conflict("already-decided", "d", "d", status="approved", n=1))
    assert response.status_code == 409
    body = response.json()
    assert body["type"] == "urn:guanhuai:problem:already-decided"
    assert body["status"] == 409
    assert body["n"] == 1


async def test_empty_chinese_text_is_left_out() -> None:
    body = (await get_raising(ProblemError(418, "teapot", "Teapot", "Short and stout."))).json()
    assert "title_zh" not in body and "detail_zh" not in body
    assert body["title"] == "Teapot"


async def test_unhandled_error_hides_its_text() -> None:
    response = await get_raising(KeyError("national_id=110101199003077777"))
    assert response.status_code == 500
    assert response.json()["type"] == "urn:guanhuai:problem:internal-error"
    assert "110101" not in response.text
