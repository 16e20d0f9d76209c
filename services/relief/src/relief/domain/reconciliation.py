"""Reconciliation: the provider's statement (or the bank's result file) against our payments.

missing   — we booked it as paid on the day, the provider has no such movement;
extra     — the provider has a movement we know nothing of;
different — both know it, but the state or the amount differs (e.g. a return we never heard of).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Ours:
    end_to_end_id: str
    status: str
    amount_fen: int


@dataclass(frozen=True)
class Theirs:
    end_to_end_id: str
    state: str
    amount_fen: int | None  # a result file carries no amount per line here


@dataclass
class Result:
    matched: int = 0
    missing: list[dict] = field(default_factory=list)
    extra: list[dict] = field(default_factory=list)
    different: list[dict] = field(default_factory=list)


# what our payment status may be when the provider reports a state
AGREES = {
    "succeeded": {"succeeded", "returned"},
    "returned": {"returned"},
    "failed": {"failed"},
    "accepted": {"sending"},
}


def reconcile(ours: dict[str, Ours], theirs: list[Theirs], expected: set[str]) -> Result:
    """`expected`: our end-to-end ids that should appear (paid on the day, for a statement)."""
    result = Result()
    seen: set[str] = set()
    for line in theirs:
        seen.add(line.end_to_end_id)
        mine = ours.get(line.end_to_end_id)
        if mine is None:
            result.extra.append(
                {"end_to_end_id": line.end_to_end_id, "state": line.state, "amount_fen": line.amount_fen}
            )
            continue
        amount_ok = line.amount_fen is None or line.amount_fen == mine.amount_fen
        if mine.status in AGREES.get(line.state, {line.state}) and amount_ok:
            result.matched += 1
        else:
            result.different.append(
                {
                    "end_to_end_id": line.end_to_end_id,
                    "ours": mine.status,
                    "theirs": line.state,
                    "our_amount_fen": mine.amount_fen,
                    "their_amount_fen": line.amount_fen,
                }
            )
    for e2e in sorted(expected - seen):
        mine = ours[e2e]
        result.missing.append({"end_to_end_id": e2e, "ours": mine.status, "amount_fen": mine.amount_fen})
    return result
