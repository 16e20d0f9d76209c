"""The facts projection over real NATS: registry-shaped events on the REGISTRY stream become
`person_facts` rows, once, in order per person and household, whatever order they arrive in."""

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest_asyncio
from registry_events import Household, Person, Registry, fetch, tick, wait_for

from carekit.testing.service import running
from entitlements.main import create_app
from entitlements.settings import EntitlementsSettings


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def service(migrated_database, nats_url) -> AsyncIterator[str]:
    url = await migrated_database("entitlements")
    app = create_app(EntitlementsSettings(database_url=url, nats_url=nats_url, environment="test",
                                          outbox_poll_seconds=0.2, consumer_backoff_seconds=0.05))
    async with running(app):
        yield url


@pytest_asyncio.fixture(loop_scope="session")
async def registry(nats_url) -> AsyncIterator[Registry]:
    async with Registry(nats_url) as producer:
        yield producer


async def row(url: str, person_id: str) -> dict | None:
    rows = await fetch(url, "SELECT * FROM person_facts WHERE person_id = $1::uuid", person_id)
    return dict(rows[0]) if rows else None


async def test_a_family_is_projected_with_its_household_facts(service: str, registry: Registry) -> None:
    home = Household()
    dad = Person("dad", "male", date(1966, 3, 15), "head", index="idx-dad-1")
    mum = Person("mum", "female", date(1968, 5, 2), "spouse")
    son = Person("son", "male", date(2012, 8, 1), "child", mother=mum, father=dad)
    # the facts arrive before the son's own event: the son's row is completed when he arrives
    await registry.publish(home.registered(), home.person("registry.person.registered", dad),
                           home.person("registry.person.registered", mum),
                           home.facts([dad, mum], [son], as_of=date(2026, 1, 1), certificate=True),
                           home.person("registry.person.registered", son))

    async def son_complete() -> bool:
        found = await row(service, son.id)
        return found is not None and found["household_facts_as_of"] is not None
    await wait_for(son_complete, what="the son's row with the household facts")

    dad_row, mum_row, son_row = [await row(service, p.id) for p in (dad, mum, son)]
    for r in (dad_row, mum_row, son_row):
        assert r["household_facts_as_of"] == date(2026, 1, 1)
        assert r["only_child"] and r["certificate_held"] and not r["bereaved"]
        assert r["hukou_type"] == "rural" and r["division_code"] == home.division
        assert r["children_ever"] == 1 and r["living_sons"] == 1
        assert r["youngest_child_birth_date"] == date(2012, 8, 1)
        assert r["mother_birth_date"] == date(1968, 5, 2) and r["father_birth_date"] == date(1966, 3, 15)
    assert dad_row["is_parent"] and mum_row["is_parent"] and not son_row["is_parent"]
    assert son_row["is_child"] and not dad_row["is_child"]
    assert dad_row["id_number_index"] == "idx-dad-1"
    assert son_row["mother_id"] is not None and str(son_row["mother_id"]) == mum.id


async def test_an_older_event_delivered_late_is_ignored(service: str, registry: Registry) -> None:
    home = Household()
    dad = Person("dad", "male", date(1950, 1, 1), "head")
    registered_at = tick()
    dad.death = date(2026, 2, 3)
    died = home.person("registry.person.died", dad, kind="death", effective_date="2026-02-03")
    dad.death = None
    stale = home.person("registry.person.registered", dad, at=registered_at)
    await registry.publish(home.registered(), died, stale)  # the registration arrives after the death

    async def applied() -> bool:
        found = await row(service, dad.id)
        return found is not None and found["death_date"] == date(2026, 2, 3)
    await wait_for(applied, what="the death")
    # a later marker event proves the stale one was handled (not merely queued)
    marker = Person("other", "female", date(1952, 1, 1), "spouse")
    await registry.publish(home.person("registry.person.registered", marker))
    await wait_for(lambda: _exists(service, marker.id), what="the marker")
    assert (await row(service, dad.id))["death_date"] == date(2026, 2, 3)
    assert (await fetch(service, "SELECT count(*) AS n FROM inbox WHERE event_id = $1::uuid",
                        str(stale.id)))[0]["n"] == 1


async def test_stale_household_facts_do_not_overwrite_newer_ones(service: str, registry: Registry) -> None:
    home = Household()
    dad = Person("dad", "male", date(1960, 1, 1), "head")
    girl = Person("girl", "female", date(2000, 1, 1), "child", father=dad)
    old_at = tick() - timedelta(seconds=5)
    girl.death = date(2026, 3, 3)
    newer = home.facts([dad], [girl], as_of=date(2026, 3, 3))
    girl.death = None
    older = home.facts([dad], [girl], as_of=date(2026, 1, 1), at=old_at)
    await registry.publish(home.registered(), home.person("registry.person.registered", dad), newer, older)
    marker = Person("marker", "male", date(1990, 1, 1), "other")
    await registry.publish(home.person("registry.person.registered", marker))
    await wait_for(lambda: _exists(service, marker.id), what="the marker")
    dad_row = await row(service, dad.id)
    assert dad_row["bereaved"] and dad_row["household_facts_as_of"] == date(2026, 3, 3)


async def test_a_move_takes_the_person_to_the_new_household(service: str, registry: Registry) -> None:
    first, second = Household(), Household(division="360702001002")
    person = Person("p", "female", date(1985, 1, 1), "head")
    await registry.publish(first.registered(), second.registered(),
                           first.person("registry.person.registered", person))
    await wait_for(lambda: _exists(service, person.id), what="registered")
    await registry.publish(second.person("registry.person.moved", person, kind="moved_in",
                                         effective_date="2026-04-01"))

    async def moved() -> bool:
        found = await row(service, person.id)
        return str(found["household_id"]) == second.id and found["division_code"] == "360702001002"
    await wait_for(moved, what="the move")


async def _exists(url: str, person_id: str) -> bool:
    return await row(url, person_id) is not None


async def test_a_merged_duplicate_leaves_every_population(service: str, registry: Registry) -> None:
    home = Household()
    keep = Person("keep", "female", date(1970, 1, 1), "head")
    twin = Person("twin", "female", date(1970, 1, 1), "spouse", index="idx-twin")
    await registry.publish(home.registered(), home.person("registry.person.registered", keep),
                           home.person("registry.person.registered", twin),
                           home.facts([keep, twin], [], as_of=date(2026, 1, 1)))
    await wait_for(lambda: _has_facts(service, twin.id), what="the twin with facts")
    keep.index, twin.index = "idx-twin", None
    await registry.publish(home.facts([keep], [], as_of=date(2026, 2, 1)),
                           home.person("registry.person.updated", twin, kind="merged", merged_into=keep.id),
                           home.person("registry.person.updated", keep, kind="merged", merged_person_id=twin.id))

    async def merged() -> bool:
        found = await row(service, keep.id)
        return found is not None and found["id_number_index"] == "idx-twin"
    await wait_for(merged, what="the merge")
    twin_row = await row(service, twin.id)
    assert str(twin_row["merged_into"]) == keep.id
    assert twin_row["household_facts_as_of"] is None and twin_row["id_number_index"] is None
    assert (await row(service, keep.id))["household_facts_as_of"] == date(2026, 2, 1)


async def _has_facts(url: str, person_id: str) -> bool:
    found = await row(url, person_id)
    return found is not None and found["household_facts_as_of"] is not None
