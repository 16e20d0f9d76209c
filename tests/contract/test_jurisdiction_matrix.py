"""Every operation of the four OpenAPI documents, against a world in county 360702: a caller of the
neighbouring county 360703 with the same roles gets 404/403 or an answer carrying nothing of the world,
and the insider then succeeds. Mutating operations run the outsider first. The table of how to fill each
operation is tests/contract/matrix.py; an operation missing from it fails here."""

import json
from datetime import date

import httpx
import pytest
import pytest_asyncio
from families import resident_id
from matrix import TABLE, Bound, Free, Operation, documented_operations, entry, ordered
from world import CHILDCARE, INSIDE, OUTSIDE, World, application_body, build_world

OPERATIONS = ordered(documented_operations())
ELIGIBILITY = "entitlements:entitlements-check_eligibility"
COUNTS = {"operations": 0, "region_bound": 0, "free": 0, "requests": 0, "leaks": 0, "server_errors": 0}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(platform, tokens) -> World:
    return await build_world(platform, tokens)


def test_the_table_names_only_documented_operations():
    documented = {op.label for op in OPERATIONS}
    stale = [f"{service}:{op}" for service, rows in TABLE.items() for op in rows if f"{service}:{op}" not in documented]
    assert not stale, f"tests/contract/matrix.py fills operations no OpenAPI document has: {stale}"
    for service, rows in TABLE.items():
        for op, row in rows.items():
            assert not isinstance(row, Free) or len(row.reason) > 10, f"{service}:{op} needs a reason"


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
async def test_a_neighbouring_county_cannot_reach_the_world(world: World, operation: Operation):
    row = entry(operation)
    COUNTS["operations"] += 1
    if row is None:
        pytest.fail(f"{operation.label} ({operation.method} {operation.path}) is not in tests/contract/matrix.py: "
                    "add how to fill it from the world and whether it is region-bound (Bound/Own/Free)")
    if isinstance(row, Free):
        COUNTS["free"] += 1
        return
    COUNTS["region_bound"] += 1
    if operation.label == ELIGIBILITY:
        await _partner_check(world)
        return
    problems = await _outsider(world, operation, row)
    insider = await _send(world, operation, await row.filled(world), _headers(world, INSIDE, row))
    if not insider.is_success:
        problems.append(f"the insider's control failed: {_show(insider)}")
    COUNTS["leaks"] += bool(problems)
    assert not problems, f"{operation.method} {operation.path}:\n  " + "\n  ".join(problems)


async def _outsider(world: World, operation: Operation, row: Bound) -> list[str]:
    fill = await row.filled(world, outsider=True)
    answer = await _send(world, operation, fill, _headers(world, OUTSIDE, row))
    status, text = answer.status_code, _text(answer)
    seen = sorted(secret for secret in world.secrets if secret and secret in text)
    if status in (403, 404):
        if status == 404 and "problem+json" not in answer.headers.get("content-type", ""):
            return [f"the outsider's 404 is not problem+json: {_show(answer)}"]
        return []
    if status >= 500:
        return [f"the outsider got a server error: {_show(answer)}"]
    if status == 422 and row.names_division:
        return []  # it may quote the division the outsider sent
    if row.like_unknown and not answer.is_success and status < 500:
        nobody = await _send(world, operation, await row.filled(world, unknown=True), _headers(world, OUTSIDE, row))
        if (status, _problem_type(answer)) == (nobody.status_code, _problem_type(nobody)):
            return []  # the same refusal as for a record that does not exist
    if not answer.is_success:
        return [f"the outsider got {status}, not 404/403 (a hint that the record exists): {_show(answer)}"]
    if operation.method != "GET" and not row.own_scope:
        return [f"the outsider's {operation.method} succeeded on the world's data: {_show(answer)}"]
    if fill.path and not row.own_scope:
        return [f"the outsider read a record of the world (its id is in the path): {_show(answer)}"]
    if seen:
        return [f"the outsider's {status} answer carries the world's data {seen[:5]}: {_show(answer)}"]
    if row.after_outsider:
        problem = await row.after_outsider(world, answer)
        return [problem] if problem else []
    return []


async def _partner_check(world: World) -> None:
    """A partner of 360703 asking about a 360702 person gets exactly the answer for an unknown person; a
    partner of 360702 gets a real answer."""
    def ask(region: str, id_number: str) -> tuple[dict[str, str], dict[str, str]]:
        headers = world.tokens.headers(region, roles=["partner"], sub=f"health-{region}", agency=f"health-{region}")
        return headers, {"policy": CHILDCARE, "id_number": id_number}

    unknown = resident_id(date(2025, 5, 5), female=True, region=INSIDE)
    answers = {}
    for name, (region, number) in {"outsider": (OUTSIDE, world["child_id_number"]), "unknown": (OUTSIDE, unknown),
                                   "insider": (INSIDE, world["child_id_number"])}.items():
        headers, params = ask(region, number)
        answers[name] = await world.call("entitlements", "GET", "/v1/eligibility", headers, params=params)
        COUNTS["requests"] += 1
    insider, outsider, nobody = answers["insider"], answers["outsider"], answers["unknown"]
    assert insider.is_success, f"the insider partner's check failed: {_show(insider)}"
    assert (outsider.status_code, _scrubbed(outsider, world["child_id_number"])) == (
        nobody.status_code, _scrubbed(nobody, unknown)), (
        f"a 360703 partner can tell a 360702 person from an unknown one:\n  known: {_show(outsider)}\n"
        f"  unknown: {_show(nobody)}")


async def test_a_citizen_reaches_only_their_own_household(world: World):
    """A citizen (token `sub` = their person id) of the same county but another household sees none of the
    world's applications and cannot apply for its family; the mother, as a citizen, applies for herself."""
    def citizen(person: str) -> dict[str, str]:
        return world.tokens.headers(INSIDE, roles=["citizen"], sub=world[person])

    stranger = citizen("other_citizen")
    listed = await world.call("relief", "GET", "/v1/applications", stranger)
    assert listed.status_code == 200 and world["application"] not in listed.text, _show(listed)
    one = await world.call("relief", "GET", f"/v1/applications/{world['application']}", stranger)
    assert one.status_code == 404, _show(one)
    body = application_body(world, world["mother"], "disaster")
    refused = await world.call("relief", "POST", "/v1/applications", stranger, json={**body, "priority": None})
    assert refused.status_code in (403, 404), f"a citizen applied for another household: {_show(refused)}"
    own = await world.call("relief", "POST", "/v1/applications", citizen("mother"), json={**body, "priority": None})
    assert own.status_code == 201, f"the mother could not apply for herself: {_show(own)}"
    mine = await world.call("relief", "GET", f"/v1/applications/{own.json()['id']}", citizen("mother"))
    assert mine.status_code == 200, _show(mine)


def _scrubbed(response: httpx.Response, id_number: str) -> str:
    text = _text(response).replace(id_number, "<id>").replace(id_number[:6] + "*", "<id>*")
    try:
        body = json.loads(text)
    except ValueError:
        return text
    if isinstance(body, dict):
        body.pop("request_id", None)
        body.pop("checked_at", None)
    return json.dumps(body, sort_keys=True, ensure_ascii=False)


def _headers(world: World, region: str, row: Bound) -> dict[str, str]:
    sub = (row.sub or "staff") + ("" if region == INSIDE else "-neighbour")
    return world.tokens.headers(region, roles=row.roles, sub=sub)


async def _send(world: World, operation: Operation, fill, headers: dict[str, str]) -> httpx.Response:  # noqa: ANN001
    path = operation.path
    for name, value in fill.path.items():
        path = path.replace("{" + name + "}", str(value))
    assert "{" not in path, f"{operation.label}: the table leaves a path parameter unfilled in {path}"
    COUNTS["requests"] += 1
    response = await world.call(operation.service, operation.method, path, {**headers, **fill.headers},
                                params=fill.query or None, json=fill.json, content=fill.content, files=fill.files)
    if response.status_code >= 500:
        COUNTS["server_errors"] += 1
    return response


def _problem_type(response: httpx.Response) -> str | None:
    try:
        return response.json().get("type")
    except (ValueError, AttributeError):
        return None


def _text(response: httpx.Response) -> str:
    try:
        return json.dumps(response.json(), ensure_ascii=False)
    except ValueError:
        return response.text


def _show(response: httpx.Response) -> str:
    request = response.request
    try:
        body = request.content.decode(errors="replace")[:300]
    except httpx.RequestNotRead:  # a multipart upload
        body = "<file>"
    return (f"{request.method} {request.url} {body} → {response.status_code} "
            f"{response.headers.get('content-type', '')} {response.text[:400]}")


def test_no_server_error_in_the_matrix():
    """Runs last: no request of the matrix got a 5xx; prints the counts (operations, requests, leaks)."""
    print(f"jurisdiction matrix: {COUNTS}")
    assert COUNTS["server_errors"] == 0, COUNTS
