"""A minimal service on the kit: notes with a region (producer) and a `received` log (consumer)."""

import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import text

from carekit.app import create_service_app
from carekit.auth.deps import check_jurisdiction, require_roles
from carekit.auth.principal import Principal
from carekit.db.uow import UnitOfWork
from carekit.deps import CurrentPrincipal, PageDep, UowDep
from carekit.events.consumer import Subscription
from carekit.events.envelope import EventEnvelope, new_event
from carekit.http.etag import IfMatch, precondition_failed, require_if_match, set_etag
from carekit.http.pagination import Page, next_cursor
from carekit.http.problems import PROBLEM_RESPONSES, not_found
from carekit.settings import ServiceSettings

ROOT = Path(__file__).parent


class KitAppSettings(ServiceSettings):
    pass


class NoteCreate(BaseModel):
    region: str = Field(pattern=r"^\d{12}$", description="12-digit division code")
    body: str = Field(min_length=1, max_length=500)


class NoteUpdate(BaseModel):
    body: str = Field(min_length=1, max_length=500)


class NotePublic(BaseModel):
    id: uuid.UUID
    region: str
    body: str
    version: int


Caseworker = Annotated[Principal, Depends(require_roles("caseworker", "admin"))]


def build_router(service: str) -> APIRouter:
    router = APIRouter(prefix="/v1/notes", tags=["notes"], responses=PROBLEM_RESPONSES)

    @router.post("", status_code=201, response_model=NotePublic)
    async def create_note(body: NoteCreate, principal: Caseworker, uow: UowDep) -> NotePublic:
        check_jurisdiction(principal, body.region, "note", "记录")
        note_id = uuid.uuid4()
        await uow.session.execute(
            text("INSERT INTO notes (id, region, body) VALUES (:id, :region, :body)"),
            {"id": note_id, "region": body.region, "body": body.body},
        )
        uow.emit(new_event(f"{service}.note.created", {"note_id": str(note_id), "region": body.region},
                           source=f"/guanhuai/{service}", subject=str(note_id)))
        await uow.commit()
        return NotePublic(id=note_id, region=body.region, body=body.body, version=1)

    @router.get("/{note_id}", response_model=NotePublic)
    async def get_note(note_id: uuid.UUID, principal: CurrentPrincipal, uow: UowDep, response: Response) -> NotePublic:
        note = await _load(uow, note_id, principal)
        set_etag(response, note.id, note.version)
        return note

    @router.patch("/{note_id}", response_model=NotePublic)
    async def update_note(note_id: uuid.UUID, body: NoteUpdate, principal: Caseworker, uow: UowDep,
                          request: Request, response: Response, _if_match: IfMatch = None) -> NotePublic:
        note = await _load(uow, note_id, principal)
        require_if_match(request, note.id, note.version)
        # Guarded by version: a writer that committed since `_load` makes this match no row.
        result = await uow.session.execute(
            text("UPDATE notes SET body = :body, version = version + 1 "
                 "WHERE id = :id AND version = :version"),
            {"id": note_id, "body": body.body, "version": note.version},
        )
        if result.rowcount == 0:
            current = await _load(uow, note_id, principal)
            raise precondition_failed(current.id, current.version)
        await uow.commit()
        updated = note.model_copy(update={"body": body.body, "version": note.version + 1})
        set_etag(response, updated.id, updated.version)
        return updated

    @router.get("", response_model=Page[NotePublic])
    async def list_notes(principal: CurrentPrincipal, uow: UowDep, page: PageDep, request: Request) -> Page[NotePublic]:
        if not principal.is_service and not principal.region:
            return Page(items=[])  # covers nothing, like `Principal.covers`
        after = (page.after or {}).get("id", "00000000-0000-0000-0000-000000000000")
        rows = await uow.session.execute(
            text("SELECT id, region, body, version FROM notes WHERE region LIKE :prefix AND id > :after "
                 "ORDER BY id LIMIT :limit"),
            {"prefix": ("" if principal.is_service else principal.region) + "%", "after": uuid.UUID(after),
             "limit": page.limit},
        )
        items = [NotePublic(**row._mapping) for row in rows]
        return Page(items=items, next_cursor=next_cursor(request, items, page.limit, lambda n: {"id": str(n.id)}))

    return router


async def _load(uow: UnitOfWork, note_id: uuid.UUID, principal: Principal) -> NotePublic:
    row = (await uow.session.execute(
        text("SELECT id, region, body, version FROM notes WHERE id = :id"), {"id": note_id})).first()
    if row is None:
        raise not_found("note", "记录")
    check_jurisdiction(principal, row.region, "note", "记录")
    return NotePublic(**row._mapping)


async def record_received(uow: UnitOfWork, event: EventEnvelope) -> None:
    await uow.session.execute(
        text("INSERT INTO received (event_id, note_id) VALUES (:e, :n)"),
        {"e": event.id, "n": uuid.UUID(event.data["note_id"])},
    )


async def record_received_batch(uow: UnitOfWork, events: list[EventEnvelope]) -> None:
    """`record_received` for a whole batch in one statement."""
    await uow.session.execute(
        text("INSERT INTO received (event_id, note_id) SELECT * FROM unnest(CAST(:e AS uuid[]), CAST(:n AS uuid[]))"),
        {"e": [e.id for e in events], "n": [uuid.UUID(e.data["note_id"]) for e in events]},
    )


def notes_subscription(producer: str, handler=record_received, name: str = "notes") -> Subscription:  # noqa: ANN001
    return Subscription(name=name, stream=producer.upper(), handlers={f"{producer}.note.created": handler})


def make_app(service: str, database_url: str, nats_url: str, subscriptions: list[Subscription] | None = None,
             **settings: object):
    config = KitAppSettings(service_name=service, database_url=database_url, nats_url=nats_url,
                            environment="test", **settings)
    return create_service_app(settings=config, service_root=ROOT, title=f"kitapp {service}",
                              description="test service", routers=[build_router(service)],
                              subscriptions=subscriptions or [])
