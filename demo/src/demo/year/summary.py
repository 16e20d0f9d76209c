"""What a run of the year found: per stage, per policy, SMS, webhooks, the death, the ledger."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class StageResult:
    name: str
    status: str = "pending"  # ok, failed, skipped, blocked
    seconds: float = 0.0
    note: str = ""


@dataclass
class PolicyResult:
    policy: str
    period: str
    fund: str | None = None
    cycle_id: str | None = None
    lines: int = 0  # decisions frozen into the cycle (beneficiaries)
    amount_fen: int = 0
    without_payee: int = 0
    batch_id: str | None = None
    batch_status: str | None = None
    payments: Counter[str] = field(default_factory=Counter)  # by final status
    paid_fen: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # why payments were not made
    paid_payees: list[str] = field(default_factory=list)


@dataclass
class DeathResult:
    household_id: str = ""
    child_id: str = ""
    parent_ids: list[str] = field(default_factory=list)
    outcome: str = ""  # the registry's answer to the partner report
    granted: bool = False  # the parents' special assistance (bereaved) appeared in entitlements
    webhook_seen: bool = False
    seconds: float = 0.0


@dataclass
class YearSummary:
    township: str
    run_tag: str
    households: int = 0
    persons: int = 0
    rows_refused: int = 0
    events_recorded: int = 0
    stages: list[StageResult] = field(default_factory=list)
    policies: list[PolicyResult] = field(default_factory=list)
    notifications: bool = True  # False: notifications was not reachable; SMS and webhooks skipped
    sms_notices: int = 0  # payment notices for our paid payees
    sms_sent: int = 0  # handed to the SMS gateway (sent or delivered)
    sms_delivered: int = 0
    sms_suppressed: int = 0  # no phone, deceased…
    sms_at_simulator: int = 0  # of ours, found at the SMS simulator
    webhooks_delivered: int = 0  # verified and kept by the receiver
    webhooks_rejected: int = 0  # bad signatures at the receiver
    webhooks_by_type: dict[str, int] = field(default_factory=dict)
    death: DeathResult = field(default_factory=DeathResult)
    invariant_ok: bool | None = None
    invariant_problems: list[str] = field(default_factory=list)

    def stage(self, name: str) -> StageResult:
        found = next((s for s in self.stages if s.name == name), None)
        if found is None:
            found = StageResult(name)
            self.stages.append(found)
        return found

    @property
    def ok(self) -> bool:
        """Every stage finished (skipped ones were skipped on purpose) and the ledger balances."""
        return self.invariant_ok is True and all(s.status in ("ok", "skipped") for s in self.stages)

    @property
    def payments(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for p in self.policies:
            total.update(p.payments)
        return total
