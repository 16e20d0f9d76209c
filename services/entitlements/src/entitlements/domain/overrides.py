"""Manual overrides: an approver's decision, after an appeal, that a subject is (or is not) eligible for a
policy until an expiry date (inclusive), whatever the criteria say. The evaluation is still shown in full
beside it; the override replaces only the outcome, and says so in zh and en."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

from entitlements.domain.errors import PolicyError
from entitlements.domain.evaluation import Decision, format_amount


@dataclass(frozen=True)
class Override:
    id: str
    policy_code: str
    subject_id: str
    eligible: bool
    amount: int | None
    reason: str
    expires_on: date
    decided_by: str
    appeal_id: str | None = None

    def in_force_on(self, day: date) -> bool:
        return day <= self.expires_on


def check_override(eligible: bool, amount: int | None, unit: str, reason: str, expires_on: date,
                   today: date) -> None:
    if not reason.strip():
        raise PolicyError("reason", "An override states its reason.", "人工认定须写明理由。")
    if expires_on < today:
        raise PolicyError("expires_on", "The expiry is in the past.", "失效日期已过。")
    if eligible and unit != "none" and (amount is None or amount < 0):
        raise PolicyError("amount", "Granting an amount-bearing benefit needs a non-negative amount.",
                          "认定符合有金额的待遇时须给出不小于0的金额。")
    if not eligible and amount is not None:
        raise PolicyError("amount", "An override to not eligible carries no amount.", "认定不符合时不应填写金额。")


def apply_override(decision: Decision, override: Override | None) -> Decision:
    """The decision with the override's outcome, when one is in force on the decision's date."""
    if override is None or not override.in_force_on(decision.as_of):
        return decision
    until = override.expires_on.isoformat()
    if override.eligible:
        amount = override.amount if decision.unit != "none" else 0
        zh_amount, en_amount = format_amount(amount or 0, decision.unit)
        zh = f"人工认定符合（至{until}）" + (f"，金额{zh_amount}" if zh_amount else "") + f"：{override.reason}"
        en = f"Eligible by manual override (until {until})" + (f": {en_amount}" if en_amount else "") + \
             f" — {override.reason}"
        return dataclasses.replace(decision, eligible=True, amount=amount, summary_zh=zh, summary_en=en)
    return dataclasses.replace(decision, eligible=False, amount=None,
                               summary_zh=f"人工认定不符合（至{until}）：{override.reason}",
                               summary_en=f"Not eligible by manual override (until {until}) — {override.reason}")
