"""Emergency relief applications: steps in one transaction with the ledger and the outbox."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text

from carekit.db.uow import UnitOfWork
from relief.domain import applications as rules
from relief.domain.applications import Application, ApplicationError, Status
from relief.domain.funds import RELIEF_EXPENSE_ACCOUNT, fund_account
from relief.domain.ledger import Transfer, TransferKind
from relief.events.outgoing import APPLICATION_EVENTS, relief_event
from relief.service.ledger import create_transfer, ensure_account, settlement_id

COLUMNS = (
    "id, household_id, applicant_person_id, region_code, reason_code, amount_fen, fund_code, description, "
    "priority, status, approvals_needed, created_by, created_at, updated_at, version, transfer_id"
)


@dataclass(frozen=True)
class NewApplication:
    household_id: uuid.UUID
    applicant_person_id: uuid.UUID
    region_code: str
    reason_code: str
    amount_fen: int
    fund_code: str
    description: str
    priority: bool | None  # an explicit marker from the caseworker; None: take the entitlements' flag


async def _record_step(uow: UnitOfWork, row, step: str, actor: str, comment: str | None) -> None:  # noqa: ANN001
    await uow.session.execute(
        text(
            "INSERT INTO application_steps (application_id, step, actor, comment) VALUES (:id, :step, :actor, :comment)"
        ),
        {"id": row.id, "step": step, "actor": actor, "comment": comment},
    )
    data = {
        "application_id": str(row.id),
        "household_id": str(row.household_id),
        "applicant_person_id": str(row.applicant_person_id),
        "region_code": row.region_code,
        "reason_code": row.reason_code,
        "amount_fen": row.amount_fen,
        "step": step,
        "actor": actor,
    }
    if comment:
        data["comment"] = comment
    if step in APPLICATION_EVENTS:
        uow.emit(relief_event(APPLICATION_EVENTS[step], data, subject=str(row.id)))


async def get_row(uow: UnitOfWork, application_id: uuid.UUID, *, lock: bool = False):  # noqa: ANN201
    return (
        await uow.session.execute(
            text(f"SELECT {COLUMNS} FROM applications WHERE id = :id" + (" FOR UPDATE" if lock else "")),
            {"id": application_id},
        )
    ).first()


async def submit(uow: UnitOfWork, new: NewApplication, actor: str, second_approval_above_fen: int) -> uuid.UUID:
    application_id = uuid.uuid4()
    flagged = (
        await uow.session.execute(
            text("SELECT priority FROM priority_households WHERE household_id = :h"), {"h": new.household_id}
        )
    ).scalar()
    priority = bool(flagged) if new.priority is None else new.priority
    await uow.session.execute(
        text(
            "INSERT INTO applications (id, household_id, applicant_person_id, region_code, reason_code, amount_fen, "
            "fund_code, description, priority, status, approvals_needed, created_by) VALUES (:id, :h, :p, :r, :reason, "
            ":amount, :fund, :desc, :priority, 'submitted', :needed, :actor)"
        ),
        {
            "id": application_id,
            "h": new.household_id,
            "p": new.applicant_person_id,
            "r": new.region_code,
            "reason": new.reason_code,
            "amount": new.amount_fen,
            "fund": new.fund_code,
            "desc": new.description,
            "priority": priority,
            "needed": rules.approvals_needed(new.amount_fen, second_approval_above_fen),
            "actor": actor,
        },
    )
    await _record_step(uow, await get_row(uow, application_id), "submitted", actor, None)
    return application_id


async def _domain(uow: UnitOfWork, row) -> Application:  # noqa: ANN001
    steps = (
        await uow.session.execute(
            text("SELECT step, actor FROM application_steps WHERE application_id = :id"), {"id": row.id}
        )
    ).all()
    return Application(
        Status(row.status),
        row.created_by,
        row.approvals_needed,
        reviewers={s.actor for s in steps if s.step == "reviewed"},
        approvers={s.actor for s in steps if s.step == "approved"},
    )


async def act(uow: UnitOfWork, row, action: str, actor: str, comment: str | None) -> None:  # noqa: ANN001
    """One step on a locked application row; the caller commits."""
    app = await _domain(uow, row)
    step = action
    if action == "review":
        step = rules.review(app, actor)
    elif action == "approve":
        step = "approved"
        if rules.approve(app, actor):
            await _reserve(uow, row)
    elif action == "refuse":
        rules.refuse(app, actor)
        step = "refused"
    elif action == "pay":
        rules.mark_paid(app, actor)
        step = "paid"
        await create_transfer(
            uow.session,
            Transfer(
                str(settlement_id(row.transfer_id, TransferKind.POST_PENDING)),
                fund_account(row.fund_code),
                RELIEF_EXPENSE_ACCOUNT,
                row.amount_fen,
                TransferKind.POST_PENDING,
                str(row.transfer_id),
                "relief",
                str(row.id),
            ),
        )
    else:
        raise ApplicationError("unknown-action", f"Unknown action {action}.", f"未知操作 {action}。", status=422)
    await uow.session.execute(
        text(
            "UPDATE applications SET status = :s, version = version + 1, updated_at = now(), "
            "transfer_id = coalesce(transfer_id, :t) WHERE id = :id"
        ),
        {"s": app.status.value, "id": row.id, "t": row.id if app.status == Status.APPROVED else None},
    )
    if action == "approve" and app.status != Status.APPROVED:
        step = "approved"  # a first of two approvals: recorded, no event until the second
        await uow.session.execute(
            text(
                "INSERT INTO application_steps (application_id, step, actor, comment) VALUES (:id, 'approved', :a, :c)"
            ),
            {"id": row.id, "a": actor, "c": comment},
        )
        return
    await _record_step(uow, row, str(step), actor, comment)


async def _reserve(uow: UnitOfWork, row) -> None:  # noqa: ANN001
    """The approved amount is reserved in the fund at once (a pending transfer), or approval fails."""
    await ensure_account(uow.session, RELIEF_EXPENSE_ACCOUNT, "expense", "紧急救助支出", "Emergency relief paid")
    await create_transfer(
        uow.session,
        Transfer(
            str(row.id),
            fund_account(row.fund_code),
            RELIEF_EXPENSE_ACCOUNT,
            row.amount_fen,
            TransferKind.PENDING,
            None,
            "relief",
            str(row.id),
        ),
    )


async def steps(uow: UnitOfWork, application_id: uuid.UUID) -> list:
    return list(
        (
            await uow.session.execute(
                text("SELECT step, actor, comment, at FROM application_steps WHERE application_id = :id ORDER BY id"),
                {"id": application_id},
            )
        ).all()
    )


async def queue(uow: UnitOfWork, statuses: list[str], limit: int, offset: int) -> list:
    return list(
        (
            await uow.session.execute(
                text(
                    f"SELECT {COLUMNS} FROM applications WHERE status = ANY(:s) "
                    "ORDER BY priority DESC, created_at, id LIMIT :l OFFSET :o"
                ),
                {"s": statuses, "l": limit, "o": offset},
            )
        ).all()
    )


async def set_priority(uow: UnitOfWork, household_id: str, policy_code: str, flagged: bool, at: datetime) -> None:
    """From the entitlements' decisions: newest decision wins; open applications follow it."""
    await uow.session.execute(
        text(
            "INSERT INTO priority_households (household_id, policy_code, priority, decided_at) "
            "VALUES (:h, :p, :f, :at) "
            "ON CONFLICT (household_id) DO UPDATE SET priority = EXCLUDED.priority, "
            "policy_code = EXCLUDED.policy_code, "
            "decided_at = EXCLUDED.decided_at WHERE priority_households.decided_at <= EXCLUDED.decided_at"
        ),
        {"h": household_id, "p": policy_code, "f": flagged, "at": at.astimezone(UTC)},
    )
    await uow.session.execute(
        text(
            "UPDATE applications a SET priority = ph.priority FROM priority_households ph "
            "WHERE a.household_id = ph.household_id AND a.household_id = :h AND a.status IN ('submitted', 'reviewed')"
        ),
        {"h": household_id},
    )
