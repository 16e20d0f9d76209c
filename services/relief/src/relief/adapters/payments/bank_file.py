"""Bank batch files: the batch file we hand to the bank and the result file it sends back.

Both are CSV, one record type per line (first field):

    batch file (UTF-8)                               result file (UTF-8, or GB18030 as banks often send)
    H,GUANHUAI-PAY,1,<batch_ref>,<count>,<sum_fen>   H,GUANHUAI-RES,1,<batch_ref>,<count>,<sum_fen>
    D,<seq>,<end_to_end_id>,<bank_card>,<payee_name>,<amount_fen>,<memo>
                                                     R,<end_to_end_id>,<bank_ref>,<amount_fen>,<state>,<reason>,<settled_at>
    T,<count>,<sum_fen>                              T,<count>,<sum_fen>

count and sum cover every D / R line; a file whose totals disagree with its lines is refused whole.
state is succeeded | failed | returned; settled_at is ISO 8601 with an offset.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import datetime

from relief.adapters.payments.base import PaymentInstruction, PaymentStatus

BATCH_KIND = "GUANHUAI-PAY"
RESULT_KIND = "GUANHUAI-RES"
VERSION = "1"
RESULT_STATES = frozenset({"succeeded", "failed", "returned"})
MAX_END_TO_END_ID = 35  # ISO 20022 EndToEndId
# control characters (tab, CR and LF aside): no bank writes them, and PostgreSQL text cannot hold a NUL
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def export_batch_file(batch_ref: str, instructions: Sequence[PaymentInstruction]) -> bytes:
    total = sum(i.amount_fen for i in instructions)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["H", BATCH_KIND, VERSION, batch_ref, len(instructions), total])
    for seq, i in enumerate(instructions, start=1):
        if i.amount_fen <= 0:
            raise ValueError(f"{i.end_to_end_id}: amount must be positive")
        writer.writerow(["D", seq, i.end_to_end_id, i.bank_card, i.payee_name, i.amount_fen, i.memo])
    writer.writerow(["T", len(instructions), total])
    return out.getvalue().encode("utf-8")


def parse_result_file(data: bytes) -> list[PaymentStatus]:
    text = _decode(data)
    _refuse_controls(text)
    try:  # newline="": a CR alone ends a line too, as csv expects
        rows = [row for row in csv.reader(io.StringIO(text, newline="")) if row]
    except csv.Error as exc:
        raise ValueError(f"not a CSV file: {exc}") from exc
    if len(rows) < 2 or rows[0][0] != "H" or rows[-1][0] != "T":
        raise ValueError("result file must start with an H line and end with a T line")
    header, trailer, body = rows[0], rows[-1], rows[1:-1]
    if len(header) < 6 or header[1] != RESULT_KIND:
        raise ValueError(f"not a {RESULT_KIND} result file")
    statuses, total = [], 0
    for number, row in enumerate(body, start=2):
        status, amount = _result_line(row, number)
        statuses.append(status)
        total += amount
    if len(trailer) < 3:
        raise ValueError("trailer must be T,<count>,<sum_fen>")
    declared = (_int(trailer[1], "trailer count"), _int(trailer[2], "trailer sum"))
    headed = (_int(header[4], "header count"), _int(header[5], "header sum"))
    if declared != (len(statuses), total) or headed != declared:
        raise ValueError(f"totals disagree: lines {len(statuses)} / {total} fen, header {headed}, trailer {declared}")
    return statuses


def _result_line(row: list[str], number: int) -> tuple[PaymentStatus, int]:
    if row[0] != "R" or len(row) != 7:
        raise ValueError(f"line {number}: expected R,<end_to_end_id>,<bank_ref>,<amount_fen>,<state>,<reason>,<at>")
    _, end_to_end_id, bank_ref, amount, state, reason, settled_at = row
    if not 1 <= len(end_to_end_id) <= MAX_END_TO_END_ID:
        raise ValueError(f"line {number}: the end_to_end_id must be 1 to {MAX_END_TO_END_ID} characters")
    if state not in RESULT_STATES:
        raise ValueError(f"line {number}: unknown state {state!r}")
    try:
        occurred_at = datetime.fromisoformat(settled_at) if settled_at else None
    except ValueError as exc:
        raise ValueError(f"line {number}: bad time {settled_at!r}") from exc
    status = PaymentStatus(
        end_to_end_id=end_to_end_id,
        state=state,  # type: ignore[arg-type]
        provider_ref=bank_ref or None,
        reason=reason or None,
        occurred_at=occurred_at,
    )
    return status, _int(amount, f"line {number} amount")


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise ValueError(f"{what} is not a whole number of fen: {text!r}") from exc


def _refuse_controls(text: str) -> None:
    found = _CONTROLS.search(text)
    if found:
        line = text.count("\n", 0, found.start()) + 1
        raise ValueError(f"line {line}: control character U+{ord(found.group()):04X}")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")
