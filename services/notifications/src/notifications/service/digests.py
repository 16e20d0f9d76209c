"""Decision notices folded into one SMS per recipient and kind of notice for the decisions of one change.

The rule: the decisions about a family member that one registry change causes (a death grants special
assistance, a fee-waiver card and relief priority at once) reach them as one SMS per kind of notice —
new benefits (`decision_granted`), changed (`decision_changed`), ended (`decision_revoked`) — listing
each benefit by name, with the amount and its period for cash and what it gives otherwise. A notice waits
`decision_hold_seconds` (5 minutes by default) after its event; a later decision of the same kind about
the same recipient joins it while it is still queued and unclaimed by the sender. They are statutory
notices: opting out of publicity does not stop them. A redelivered event joins nothing twice.
"""

import json
import uuid
from datetime import datetime, timedelta

from sqlalchemy import text

from carekit.db.uow import UnitOfWork

DIGESTED = ("decision_granted", "decision_changed", "decision_revoked")
SEPARATOR = "；"

# The recipient's notice of this kind still waiting (not claimed by the sender, never tried), to fold into.
OPEN_DIGEST = text(
    "SELECT id, params FROM messages WHERE recipient_key = :recipient AND template_code = :code"
    " AND state = 'queued' AND attempts = 0 AND lease_until IS NULL ORDER BY not_before LIMIT 1 FOR UPDATE"
)
FOLD = text("UPDATE messages SET params = CAST(:params AS jsonb), updated_at = now() WHERE id = :id")
# Events already folded into a notice (a redelivery adds nothing).
KNOWN_EVENTS = text(
    "SELECT params ->> 'events' AS events FROM messages WHERE recipient_key = :recipient"
    " AND template_code = :code AND params ? 'events' AND created_at >= :since"
)


def fold_params(base: dict[str, str], more: dict[str, str], event_id: str) -> dict[str, str]:
    """`base` with one more decision: its line appended, the earliest effective date kept."""
    lines = [line for line in base.get("benefits", "").split(SEPARATOR) if line]
    lines += [line for line in more.get("benefits", "").split(SEPARATOR) if line and line not in lines]
    events = [e for e in base.get("events", "").split(",") if e] + [event_id]
    effective = min(filter(None, (base.get("effective_date"), more.get("effective_date"))), default="")
    return base | {"benefits": SEPARATOR.join(lines), "events": ",".join(events), "effective_date": effective}


async def fold_into_open(uow: UnitOfWork, row: dict) -> bool:
    """Fold a digest row into the recipient's open notice of its kind; False when there is none."""
    found = (await uow.session.execute(OPEN_DIGEST, {"recipient": row["recipient_key"],
                                                      "code": row["template_code"]})).first()
    if found is None:
        return False
    params = dict(found.params)
    mine = json.loads(row["params"])
    for event_id in mine["events"].split(","):
        params = fold_params(params, mine, event_id) if event_id not in params.get("events", "") else params
    await uow.session.execute(FOLD, {"id": found.id, "params": json.dumps(params, ensure_ascii=False)})
    return True


async def already_folded(uow: UnitOfWork, recipient: str, code: str, event_id: str, since: datetime) -> bool:
    rows = await uow.session.execute(KNOWN_EVENTS, {"recipient": recipient, "code": code, "since": since})
    return any(event_id in (r.events or "").split(",") for r in rows)


def digest_rows(rows: list[dict]) -> list[dict]:
    """A batch's digest rows, one per (recipient, template): later rows folded into the first."""
    merged: dict[tuple[str, str], dict] = {}
    for row in rows:
        key = (row["recipient_key"], row["template_code"])
        params = json.loads(row["params"])
        if key not in merged:
            merged[key] = row | {"params": json.dumps(params | {"events": str(row["event_id"])}, ensure_ascii=False)}
            continue
        first = merged[key]
        folded = fold_params(json.loads(first["params"]), params, str(row["event_id"]))
        merged[key] = first | {"params": json.dumps(folded, ensure_ascii=False),
                               "not_before": max(first["not_before"], row["not_before"])}
    return list(merged.values())


async def enqueue_digests(uow: UnitOfWork, rows: list[dict], hold: timedelta) -> list[dict]:
    """The digest rows that need a new message (due `hold` later); the others were folded or known."""
    new: list[dict] = []
    for row in digest_rows(rows):
        since = row["not_before"] - timedelta(days=2)
        events = [e for e in json.loads(row["params"])["events"].split(",")
                  if not await already_folded(uow, row["recipient_key"], row["template_code"], e, since)]
        if not events:
            continue
        row = row | {"event_id": uuid.UUID(events[0]), "params": _only(row["params"], events)}
        if not await fold_into_open(uow, row):
            new.append(row | {"not_before": row["not_before"] + hold})
    return new


def _only(params_json: str, events: list[str]) -> str:
    return json.dumps(json.loads(params_json) | {"events": ",".join(events)}, ensure_ascii=False)
