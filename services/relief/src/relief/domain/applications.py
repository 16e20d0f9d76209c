"""Emergency relief (紧急救助): submitted → township review → county approval → paid, or refused.

Maker ≠ checker: whoever submitted may not review, approve or refuse; a reviewer may not approve
the same application; above a configurable amount two different county approvers must approve.
Priority families (bereaved, disabled only child: the entitlements' relief-priority flag) come first
in the queue, then the longest-waiting.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Status(StrEnum):
    SUBMITTED = "submitted"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    PAID = "paid"
    REFUSED = "refused"


class Step(StrEnum):
    SUBMITTED = "submitted"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    REFUSED = "refused"
    PAID = "paid"


REASONS = {
    "child_died": ("子女死亡", "child died"),
    "disability": ("伤残", "disability"),
    "accident": ("意外伤害", "accident"),
    "serious_illness": ("重大疾病", "serious illness"),
    "disaster": ("灾害", "disaster"),
}


class ApplicationError(Exception):
    def __init__(self, code: str, message: str, zh: str, status: int = 409, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.zh, self.status, self.field = code, message, zh, status, field


def household_not_found() -> ApplicationError:
    """Unknown to the registry, or outside the caller's jurisdiction: the same answer, no hint."""
    return ApplicationError(
        "not-found",
        "No household with this household_id exists or you may not see it.",
        "该户（household_id）不存在，或您无权查看。",
        status=404,
        field="household_id",
    )


def applicant_region(
    division_code: str | None, living_members: frozenset, applicant: object, *, citizen: bool, covers: bool
) -> str:
    """The application's region, taken from the registry's household (division_code None: unknown).

    Staff apply for households registered in their region; a citizen only for their own household."""
    allowed = applicant in living_members if citizen else covers
    if division_code is None or not allowed:
        raise household_not_found()
    if applicant not in living_members:
        raise ApplicationError(
            "applicant-not-member",
            "The applicant_person_id is not a living member of this household in the registry.",
            "申请人（applicant_person_id）不是该户在册的在世成员。",
            status=422,
            field="applicant_person_id",
        )
    return division_code


def approvals_needed(amount_fen: int, second_approval_above_fen: int) -> int:
    return 2 if amount_fen > second_approval_above_fen else 1


@dataclass
class Application:
    status: Status
    created_by: str
    approvals_needed: int
    reviewers: set[str] = field(default_factory=set)
    approvers: set[str] = field(default_factory=set)


def _not_maker(app: Application, actor: str) -> None:
    if actor == app.created_by:
        raise ApplicationError(
            "maker-checker",
            "Whoever submitted an application may not decide on it.",
            "申请提交人不得审核或审批本申请。",
            status=403,
        )


def _expect(app: Application, *statuses: Status) -> None:
    if app.status not in statuses:
        wanted = " or ".join(statuses)
        raise ApplicationError(
            "wrong-status",
            f"The application is {app.status}; this step needs it {wanted}.",
            f"申请当前状态为 {app.status}，此操作要求状态为 {wanted}。",
        )


def review(app: Application, actor: str) -> Step:
    _expect(app, Status.SUBMITTED)
    _not_maker(app, actor)
    app.reviewers.add(actor)
    app.status = Status.REVIEWED
    return Step.REVIEWED


def approve(app: Application, actor: str) -> bool:
    """Record one county approval; True when the application is now fully approved."""
    _expect(app, Status.REVIEWED)
    _not_maker(app, actor)
    if actor in app.reviewers:
        raise ApplicationError(
            "maker-checker",
            "The township reviewer may not also give the county approval.",
            "乡镇审核人不得同时进行县级审批。",
            status=403,
        )
    if actor in app.approvers:
        raise ApplicationError(
            "second-approver-needed",
            "This amount needs a second, different approver.",
            "该金额须由另一位审批人进行第二次审批。",
            status=403,
        )
    app.approvers.add(actor)
    if len(app.approvers) >= app.approvals_needed:
        app.status = Status.APPROVED
        return True
    return False


def refuse(app: Application, actor: str) -> None:
    _expect(app, Status.SUBMITTED, Status.REVIEWED)
    _not_maker(app, actor)
    app.status = Status.REFUSED


def mark_paid(app: Application, actor: str) -> None:
    _expect(app, Status.APPROVED)
    _not_maker(app, actor)
    app.status = Status.PAID


def waited_hours(submitted_at: datetime, now: datetime) -> float:
    return round((now - submitted_at).total_seconds() / 3600, 1)


def queue_order(priority: bool, submitted_at: datetime) -> tuple[int, datetime]:
    """Priority families first, then first come first served."""
    return (0 if priority else 1, submitted_at)
