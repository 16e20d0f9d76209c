"""The dead-letter endpoints refuse out-of-range numbers with 422 (never a 500 from NATS)."""

import httpx
import pytest
import pytest_asyncio

INT64_MAX = 2**63 - 1


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def client(kit):
    """The kitapp, answering a 500 instead of re-raising the app's exception into the test."""
    transport = httpx.ASGITransport(app=kit.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as raw:
        yield raw


@pytest.fixture
def ops(tokens) -> dict[str, str]:
    return tokens.headers(roles=["ops"], sub="ops-1")


def assert_invalid(response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.parametrize("seq", ["0", "-1", str(INT64_MAX + 1), str(2**64), "99999999999999999999999"])
@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_out_of_range_seq_is_422(client, ops, seq, method) -> None:
    path = f"/v1/ops/dead-letters/{seq}" + ("/replay" if method == "POST" else "")
    assert_invalid(await client.request(method, path, headers=ops), "path.seq")


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_largest_seq_is_a_plain_404(client, ops, method) -> None:
    path = f"/v1/ops/dead-letters/{INT64_MAX}" + ("/replay" if method == "POST" else "")
    response = await client.request(method, path, headers=ops)
    assert response.status_code == 404, response.text


@pytest.mark.parametrize(("query", "field"), [
    ("cursor=-1", "query.cursor"),
    (f"cursor={INT64_MAX}", "query.cursor"),  # the next sequence number would not fit in 64 bits
    (f"cursor={2**64}", "query.cursor"),
    ("limit=0", "query.limit"),
    ("limit=201", "query.limit"),
])
async def test_out_of_range_list_params_are_422(client, ops, query, field) -> None:
    assert_invalid(await client.get(f"/v1/ops/dead-letters?{query}", headers=ops), field)


@pytest.mark.parametrize("cursor", ["0", str(INT64_MAX - 1)])
async def test_list_bounds_answer_a_page(client, ops, cursor) -> None:
    response = await client.get(f"/v1/ops/dead-letters?cursor={cursor}&limit=200", headers=ops)
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "next_cursor": None}


def test_the_openapi_states_the_bounds(kit) -> None:
    paths = kit.app.openapi()["paths"]
    listing = {p["name"]: p["schema"] for p in paths["/v1/ops/dead-letters"]["get"]["parameters"]}
    assert listing["cursor"]["minimum"] == 0 and listing["cursor"]["maximum"] == INT64_MAX - 1
    for path, method in (("/v1/ops/dead-letters/{seq}/replay", "post"), ("/v1/ops/dead-letters/{seq}", "delete")):
        seq = next(p for p in paths[path][method]["parameters"] if p["name"] == "seq")["schema"]
        assert (seq["minimum"], seq["maximum"]) == (1, INT64_MAX)
