"""Emergency relief applications: steps in one transaction with the ledger and the outbox."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text

from carekit.auth.principal import Principal, Role
from carekit.db.uow import UnitOfWork
from relief.adapters.registry import RegistryClient
from relief.domain import applications as rules
from relief.domain.applications import Application, ApplicationError, Status
from relief.domain.funds import fund_account, relief_expense_account
from relief.domain.ledger import Transfer, TransferKind
from relief.events.outgoing import APPLICATION_EVENTS, relief_event
from relief.service.ledger import account_region, create_transfer, ensure_account, get_transfer, settlement_id

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


async def household_region(
    registry: RegistryClient, principal: Principal, household_id: uuid.UUID, applicant: uuid.UUID
) -> str:
    """The household's village code as the registry has it, once the caller may apply for it and the
    applicant lives in it (ApplicationError otherwise; RegistryUnavailable when it cannot be asked)."""
    household = await registry.household(household_id)
    return rules.applicant_region(
        household.division_code if household else None,
        household.living_members if household else frozenset(),
        applicant,
        citizen=not principal.has_any(Role.CASEWORKER),
        covers=household is not None and principal.covers(household.division_code),
    )


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
        reserved = await get_transfer(uow.session, str(row.transfer_id))
        await create_transfer(
            uow.session,
            Transfer(
                str(settlement_id(row.transfer_id, TransferKind.POST_PENDING)),
                fund_account(row.fund_code),
                # the reservation's own account: one made before accounts had regions has none in its name
                reserved.credit_account if reserved else relief_expense_account(None),
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
    fund = fund_account(row.fund_code)
    region = await account_region(uow.session, fund)
    expense = relief_expense_account(region)
    await ensure_account(
        uow.session, expense, "expense", f"紧急救助支出 {region}", f"Emergency relief paid {region}", region=region
    )
    await create_transfer(
        uow.session,
        Transfer(
            str(row.id),
            fund,
            expense,
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


@dataclass(frozen=True)
class Seen:
    """Whose applications a caller sees: those of one applicant, of one region, or (service) all."""

    region: str | None = None
    applicant: uuid.UUID | None = None


async def queue(uow: UnitOfWork, statuses: list[str], limit: int, offset: int, seen: Seen) -> list:
    return list(
        (
            await uow.session.execute(
                text(
                    f"SELECT {COLUMNS} FROM applications WHERE status = ANY(:s) "
                    "AND (CAST(:region AS varchar) IS NULL OR starts_with(region_code, :region)) "
                    "AND (CAST(:applicant AS uuid) IS NULL OR applicant_person_id = :applicant) "
                    "ORDER BY priority DESC, created_at, id LIMIT :l OFFSET :o"
                ),
                {"s": statuses, "l": limit, "o": offset, "region": seen.region, "applicant": seen.applicant},
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
