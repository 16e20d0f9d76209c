"""The review queue of partner reports (caseworkers, admins): list, read (ID numbers masked), resolve once."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from carekit.deps import PageDep, UowDep
from carekit.http.pagination import Page, next_cursor
from carekit.http.problems import PROBLEM_RESPONSES, ProblemError, conflict, not_found
from registry.api.deps import Caseworker, TodayDep, VaultDep
from registry.db.tables import ReviewItemRecord
from registry.service import review_items as queue
from registry.service.partner_events import ReportConflict

router = APIRouter(prefix="/v1/review-items", tags=["review queue"], responses=PROBLEM_RESPONSES)


class ReviewItemSummary(BaseModel):
    id: uuid.UUID
    agency: str
    event_type: str
    region_hint: str = Field(description="Where the item belongs: the ID number's county, or the household's code")
    reason: str = Field(description="unmatched, outside_partner_region or conflict")
    status: str = Field(description="open, matched or dismissed")
    created_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None


class ReviewItemPublic(ReviewItemSummary):
    report: dict[str, Any] = Field(description="The report's data; ID numbers masked")
    event_id: str | None = Field(description="The partner's CloudEvent id")
    note: dict[str, Any] | None = Field(description="For a conflict: the rule the report breaks")
    candidate_person_id: uuid.UUID | None = Field(
        description="A person in your region now registered with the report's ID number, if any")
    resolution: dict[str, Any] | None = Field(description="matched: person_id, outcome, life_event_id, child_id; "
                                              "dismissed: reason")


class MatchedResolution(BaseModel):
    resolution: Literal["matched"]
    person_id: uuid.UUID = Field(description="The person the report is about (the mother, for a birth)")


class DismissedResolution(BaseModel):
    resolution: Literal["dismissed"]
    reason: str = Field(min_length=4, max_length=500, pattern=r"\S(?:\s*\S){3}",
                        description="Why the report is set aside (at least 4 characters besides spaces)")


ResolveBody = Annotated[MatchedResolution | DismissedResolution, Field(discriminator="resolution")]
StatusFilter = Literal["open", "matched", "dismissed", "all"]


def _summary(item: ReviewItemRecord) -> ReviewItemSummary:
    return ReviewItemSummary(id=item.id, agency=item.agency, event_type=item.event_type, region_hint=item.region_hint,
                             reason=item.reason, status=item.status, created_at=item.created_at,
                             resolved_by=item.resolved_by, resolved_at=item.resolved_at)


async def _public(uow: UowDep, vault: VaultDep, principal: Caseworker, item: ReviewItemRecord) -> ReviewItemPublic:
    payload = queue.opened(vault, item)
    return ReviewItemPublic(**_summary(item).model_dump(), report=queue.masked_report(payload),
                            event_id=payload.get("event_id"), note=payload.get("note"),
                            candidate_person_id=await queue.candidate(uow.session, principal, item),
                            resolution=queue.resolution_of(item))


@router.get("", response_model=Page[ReviewItemSummary], summary="Review items inside your region, oldest first")
async def list_review_items(principal: Caseworker, uow: UowDep, page: PageDep, request: Request,
                            status: Annotated[StatusFilter, Query(description="Default: open")] = "open",
                            ) -> Page[ReviewItemSummary]:
    items = await queue.list_items(uow.session, principal, status=None if status == "all" else status,
                                   limit=page.limit, after=page.after)
    summaries = [_summary(i) for i in items]
    return Page(items=summaries, next_cursor=next_cursor(
        request, summaries, page.limit, lambda s: {"created_at": s.created_at.isoformat(), "id": str(s.id)}))


@router.get("/{item_id}", response_model=ReviewItemPublic, summary="A review item with its report (IDs masked)")
async def get_review_item(item_id: uuid.UUID, principal: Caseworker, uow: UowDep, vault: VaultDep) -> ReviewItemPublic:
    item = await queue.visible_item(uow.session, principal, item_id)
    if item is None:
        raise not_found("review item", "待核对事项")
    return await _public(uow, vault, principal, item)


@router.post("/{item_id}/resolve", response_model=ReviewItemPublic,
             summary="Resolve once: matched (apply the report to a person) or dismissed (with a reason)")
async def resolve_review_item(item_id: uuid.UUID, body: ResolveBody, principal: Caseworker, uow: UowDep,
                              vault: VaultDep, today: TodayDep) -> ReviewItemPublic:
    item = await queue.visible_item(uow.session, principal, item_id, lock=True)
    if item is None:
        raise not_found("review item", "待核对事项")
    resolution = queue.Resolution(kind=body.resolution, person_id=getattr(body, "person_id", None),
                                  reason=getattr(body, "reason", None))
    try:
        await queue.resolve(uow, principal, item, resolution, vault, today)
    except queue.AlreadyResolved as exc:
        raise conflict("review-item-resolved", f"This item was already resolved ({exc.status}).",
                       f"该事项已处理（{exc.status}）。", status_now=exc.status) from exc
    except ReportConflict as exc:
        raise ProblemError(409, "report-conflicts", "Report conflicts with the registry",
                           f"{exc.field}: {exc.message}", "报告与登记信息冲突", f"{exc.field}：{exc.message_zh}",
                           extensions={"field": exc.field}) from exc
    public = await _public(uow, vault, principal, item)
    await uow.commit()
    return public
