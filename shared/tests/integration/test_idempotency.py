"""Idempotency-Key on POST: replay, reuse, what is and is not remembered, and per-caller scope."""

import asyncio
import uuid

import httpx
import pytest
import pytest_asyncio

REPLAYED = "idempotent-replayed"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def raw_client(kit):
    """Extra routes (one that fails, one without auth) and a client that receives 500s as responses."""

    async def boom() -> None:
        raise RuntimeError("boom")

    async def public_ticket() -> dict[str, str]:
        return {"ticket": str(uuid.uuid4())}

    kit.app.add_api_route("/v1/boom", boom, methods=["POST"])
    kit.app.add_api_route("/v1/tickets", public_ticket, methods=["POST"])
    transport = httpx.ASGITransport(app=kit.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def caseworker(tokens, sub: str = "cw-1", **extra) -> dict[str, str]:
    return tokens.headers(roles=["caseworker"], region="360702", sub=sub, **extra)


async def post_note(kit, headers, key: str | None, body: str, region: str = "360702001001") -> httpx.Response:
    if key is not None:
        headers = {**headers, "Idempotency-Key": key}
    return await kit.client.post("/v1/notes", json={"region": region, "body": body}, headers=headers)


async def count_notes(kit, body: str) -> int:
    return await kit.fetchval("SELECT count(*) FROM notes WHERE body = $1", body)


async def stored_keys(kit, key: str) -> int:
    return await kit.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = $1", key)


async def test_same_key_and_body_replays_the_response(kit, tokens) -> None:
    key = str(uuid.uuid4())
    first = await post_note(kit, caseworker(tokens), key, "replay me")
    second = await post_note(kit, caseworker(tokens), key, "replay me")
    assert first.status_code == second.status_code == 201
    assert REPLAYED not in first.headers
    assert second.headers[REPLAYED] == "true"
    assert second.json() == first.json()
    assert second.headers["content-type"] == "application/json"
    assert await count_notes(kit, "replay me") == 1


async def test_without_a_key_every_post_creates(kit, tokens) -> None:
    for _ in range(2):
        assert (await post_note(kit, caseworker(tokens), None, "no key")).status_code == 201
    assert await count_notes(kit, "no key") == 2


async def test_same_key_other_body_is_409(kit, tokens) -> None:
    key = str(uuid.uuid4())
    assert (await post_note(kit, caseworker(tokens), key, "original")).status_code == 201
    reused = await post_note(kit, caseworker(tokens), key, "something else")
    assert reused.status_code == 409
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["type"] == "urn:guanhuai:problem:idempotency-key-reused"
    assert await count_notes(kit, "something else") == 0


async def test_same_key_other_query_is_409(kit, tokens) -> None:
    key = str(uuid.uuid4())
    h = {**caseworker(tokens), "Idempotency-Key": key}
    body = {"region": "360702001001", "body": "query"}
    assert (await kit.client.post("/v1/notes", json=body, headers=h)).status_code == 201
    assert (await kit.client.post("/v1/notes?x=1", json=body, headers=h)).status_code == 409


@pytest.mark.parametrize("key", ["k" * 256, "has space", "", "tab\there", "ключ".encode()])
async def test_bad_key_is_400(kit, tokens, key) -> None:
    headers = {**caseworker(tokens), "Idempotency-Key": key}
    response = await kit.client.post("/v1/notes", json={"region": "360702001001", "body": f"bad key {key!r}"},
                                     headers=headers)
    assert response.status_code == 400
    assert response.json()["type"] == "urn:guanhuai:problem:bad-idempotency-key"
    assert await count_notes(kit, f"bad key {key!r}") == 0


async def test_longest_allowed_key_works(kit, tokens) -> None:
    assert (await post_note(kit, caseworker(tokens), "k" * 255, "long key")).status_code == 201


async def test_validation_error_is_stored_and_replayed(kit, tokens) -> None:
    key = str(uuid.uuid4())
    first = await post_note(kit, caseworker(tokens), key, "x", region="bad")
    second = await post_note(kit, caseworker(tokens), key, "x", region="bad")
    assert first.status_code == second.status_code == 422
    assert second.headers[REPLAYED] == "true"
    assert second.headers["content-type"] == "application/problem+json"
    assert second.json()["errors"] == first.json()["errors"]
    assert await stored_keys(kit, key) == 1


async def test_401_is_not_stored(kit, tokens) -> None:
    key = str(uuid.uuid4())
    expired = caseworker(tokens, ttl_seconds=-120)
    assert (await post_note(kit, expired, key, "after 401")).status_code == 401
    # Not remembered: another body under the same key is not a "reuse".
    assert (await post_note(kit, expired, key, "another after 401")).status_code == 401
    assert await stored_keys(kit, key) == 0
    retried = await post_note(kit, caseworker(tokens), key, "after 401")
    assert retried.status_code == 201
    assert REPLAYED not in retried.headers
    assert await count_notes(kit, "after 401") == 1


async def test_403_is_not_stored(kit, tokens) -> None:
    key = str(uuid.uuid4())
    citizen = tokens.headers(roles=["citizen"], region="360702", sub="grows-up")
    assert (await post_note(kit, citizen, key, "after 403")).status_code == 403
    promoted = tokens.headers(roles=["caseworker"], region="360702", sub="grows-up")
    assert (await post_note(kit, promoted, key, "after 403")).status_code == 201


async def test_500_is_not_stored(kit, raw_client, tokens) -> None:
    key = str(uuid.uuid4())
    headers = {**caseworker(tokens), "Idempotency-Key": key}
    for _ in range(2):
        response = await raw_client.post("/v1/boom", json={}, headers=headers)
        assert response.status_code == 500
        assert REPLAYED not in response.headers
    assert await stored_keys(kit, key) == 0


async def test_keys_are_scoped_per_subject(kit, tokens) -> None:
    key = str(uuid.uuid4())
    mine = await post_note(kit, caseworker(tokens, sub="alice"), key, "scoped")
    theirs = await post_note(kit, caseworker(tokens, sub="bob"), key, "scoped")
    assert mine.status_code == theirs.status_code == 201
    assert REPLAYED not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]
    assert await count_notes(kit, "scoped") == 2


async def test_anonymous_callers_do_not_share_responses(raw_client) -> None:
    # Without a verified subject there is no scope to keep callers apart, so nothing is stored.
    key = str(uuid.uuid4())
    first = await raw_client.post("/v1/tickets", headers={"Idempotency-Key": key})
    second = await raw_client.post("/v1/tickets", headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 200
    assert REPLAYED not in second.headers
    assert second.json() != first.json()


async def test_very_long_subject_still_works(kit, tokens) -> None:
    key = str(uuid.uuid4())
    headers = caseworker(tokens, sub="s" * 128)  # the longest subject a token may carry
    assert (await post_note(kit, headers, key, "long sub")).status_code == 201
    assert (await post_note(kit, headers, key, "long sub")).headers[REPLAYED] == "true"
    assert await count_notes(kit, "long sub") == 1


async def test_concurrent_retries_create_once(kit, tokens) -> None:
    key = str(uuid.uuid4())
    responses = await asyncio.gather(*(post_note(kit, caseworker(tokens), key, "racing") for _ in range(5)))
    statuses = sorted(r.status_code for r in responses)
    assert 201 in statuses and set(statuses) <= {201, 409}
    assert len({r.json()["id"] for r in responses if r.status_code == 201}) == 1
    assert await count_notes(kit, "racing") == 1
