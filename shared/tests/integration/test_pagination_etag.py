"""Cursor pagination over the notes list, and ETag / If-Match on updates."""

import asyncio

import pytest

from carekit.http.pagination import PageDep


def caseworker(tokens, region: str = "360705") -> dict[str, str]:
    return tokens.headers(roles=["caseworker"], region=region)


async def new_note(kit, tokens, region: str = "360705001001", body: str = "v1") -> dict:
    response = await kit.client.post("/v1/notes", json={"region": region, "body": body},
                                     headers=caseworker(tokens, region[:6]))
    assert response.status_code == 201, response.text
    return response.json()


async def test_pages_through_everything_once(kit, tokens) -> None:
    created = {(await new_note(kit, tokens, "360706001001"))["id"] for _ in range(7)}
    await new_note(kit, tokens, "360707001001")  # another county: never listed
    seen, sizes, cursor = [], [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = await kit.client.get("/v1/notes", params=params, headers=caseworker(tokens, "360706"))
        assert page.status_code == 200, page.text
        sizes.append(len(page.json()["items"]))
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert sizes == [3, 3, 1]
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == created


async def test_caller_without_region_lists_nothing(kit, tokens) -> None:
    await new_note(kit, tokens)
    page = await kit.client.get("/v1/notes", headers=tokens.headers(roles=["caseworker"]))
    assert page.status_code == 200
    assert page.json() == {"items": [], "next_cursor": None}


async def first_cursor(kit, tokens) -> str:
    for _ in range(2):
        await new_note(kit, tokens)
    page = await kit.client.get("/v1/notes", params={"limit": 1}, headers=caseworker(tokens))
    return page.json()["next_cursor"]


def tampered(cursor: str) -> str:
    middle = len(cursor) // 2
    return cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1:]


@pytest.mark.parametrize("mangle", [tampered, lambda c: c[:-4], lambda c: "x" + c, lambda c: "!!!",
                                    lambda c: "光标", lambda c: c + "%00"])
async def test_tampered_cursor_is_400(kit, tokens, mangle) -> None:
    cursor = await first_cursor(kit, tokens)
    response = await kit.client.get("/v1/notes", params={"cursor": mangle(cursor)},
                                    headers=caseworker(tokens))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:guanhuai:problem:bad-cursor"


async def test_cursor_of_another_list_is_400(kit, tokens) -> None:
    # Another list's position may have another shape; its handler must not be handed this one.
    async def other_list(page: PageDep) -> dict:
        return {"after": page.after}

    kit.app.add_api_route("/v1/other-list", other_list)
    cursor = await first_cursor(kit, tokens)
    response = await kit.client.get("/v1/other-list", params={"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["type"] == "urn:guanhuai:problem:bad-cursor"


async def test_untampered_cursor_works(kit, tokens) -> None:
    cursor = await first_cursor(kit, tokens)
    response = await kit.client.get("/v1/notes", params={"cursor": cursor}, headers=caseworker(tokens))
    assert response.status_code == 200


@pytest.mark.parametrize(("limit", "status"),
                         [(0, 422), (-1, 422), (201, 422), (500, 422), (1, 200), (200, 200)])
async def test_limit_bounds(kit, tokens, limit, status) -> None:
    response = await kit.client.get("/v1/notes", params={"limit": limit}, headers=caseworker(tokens))
    assert response.status_code == status
    if status == 422:
        assert response.json()["errors"][0]["field"] == "query.limit"


async def test_get_returns_an_etag(kit, tokens) -> None:
    note = await new_note(kit, tokens)
    got = await kit.client.get(f"/v1/notes/{note['id']}", headers=caseworker(tokens))
    assert got.headers["etag"] == f'W/"{note["id"]}-1"'


async def patch(kit, tokens, note_id: str, if_match: str | None, body: str = "v2"):
    headers = caseworker(tokens) | ({"If-Match": if_match} if if_match is not None else {})
    return await kit.client.patch(f"/v1/notes/{note_id}", json={"body": body}, headers=headers)


async def test_patch_without_if_match_is_428(kit, tokens) -> None:
    note = await new_note(kit, tokens)
    response = await patch(kit, tokens, note["id"], None)
    assert response.status_code == 428
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:guanhuai:problem:precondition-required"


async def test_patch_with_stale_etag_is_412_then_current_one_succeeds(kit, tokens) -> None:
    note = await new_note(kit, tokens)
    first_etag = (await kit.client.get(f"/v1/notes/{note['id']}", headers=caseworker(tokens))).headers["etag"]

    updated = await patch(kit, tokens, note["id"], first_etag, "v2")
    assert updated.status_code == 200
    assert updated.json()["version"] == 2
    second_etag = updated.headers["etag"]
    assert second_etag != first_etag

    stale = await patch(kit, tokens, note["id"], first_etag, "v3")
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert stale.json()["type"] == "urn:guanhuai:problem:precondition-failed"
    assert stale.json()["current_etag"] == second_etag
    assert stale.headers["etag"] == second_etag
    current = await kit.client.get(f"/v1/notes/{note['id']}", headers=caseworker(tokens))
    assert current.json()["body"] == "v2"
    assert current.headers["etag"] == second_etag


@pytest.mark.parametrize("form", [lambda tag: "*", lambda tag: tag.removeprefix("W/"),
                                  lambda tag: f'W/"other-9", {tag}'])
async def test_if_match_forms_accepted(kit, tokens, form) -> None:
    note = await new_note(kit, tokens)
    response = await patch(kit, tokens, note["id"], form(f'W/"{note["id"]}-1"'))
    assert response.status_code == 200


async def test_concurrent_updates_with_the_same_etag_let_one_win(kit, tokens) -> None:
    note = await new_note(kit, tokens)
    etag = f'W/"{note["id"]}-1"'
    responses = await asyncio.gather(*(patch(kit, tokens, note["id"], etag, f"writer {i}") for i in range(4)))
    assert sorted(r.status_code for r in responses) == [200, 412, 412, 412]
    final = await kit.client.get(f"/v1/notes/{note['id']}", headers=caseworker(tokens))
    assert final.json()["version"] == 2


async def test_patch_outside_region_is_404_before_if_match(kit, tokens) -> None:
    note = await new_note(kit, tokens, "360799001001")
    response = await patch(kit, tokens, note["id"], None)
    assert response.status_code == 404
