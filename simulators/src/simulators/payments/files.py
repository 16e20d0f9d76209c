"""The bank-file channel: take a GUANHUAI-PAY batch file, hand back a GUANHUAI-RES result file
(formats in relief's `adapters/payments/bank_file.py`)."""

from __future__ import annotations

import csv
import io

from simulators.common import CHINA
from simulators.payments.engine import Payment

FINAL = ("succeeded", "failed", "returned")


def read_batch_file(data: bytes) -> tuple[str, list[dict]]:
    rows = [row for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) if row]
    if len(rows) < 2 or rows[0][:3] != ["H", "GUANHUAI-PAY", "1"] or rows[-1][0] != "T":
        raise ValueError("not a GUANHUAI-PAY v1 batch file")
    batch_ref = rows[0][3]
    instructions = []
    for row in rows[1:-1]:
        if row[0] != "D" or len(row) != 7:
            raise ValueError(f"bad detail line: {row}")
        _, _, e2e, card, name, amount, memo = row
        instructions.append(
            {"end_to_end_id": e2e, "bank_card": card, "payee_name": name, "amount_fen": int(amount), "memo": memo}
        )
    count, total = int(rows[-1][1]), int(rows[-1][2])
    if count != len(instructions) or total != sum(i["amount_fen"] for i in instructions):
        raise ValueError("trailer count or sum disagrees with the detail lines")
    if (int(rows[0][4]), int(rows[0][5])) != (count, total):
        raise ValueError("header count or sum disagrees with the trailer")
    return batch_ref, instructions


def write_result_file(batch_ref: str, payments: list[Payment]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    total = sum(p.amount_fen for p in payments)
    writer.writerow(["H", "GUANHUAI-RES", "1", batch_ref, len(payments), total])
    for p in payments:
        at, reason = p.history[p.state]
        writer.writerow(
            [
                "R",
                p.end_to_end_id,
                p.provider_ref,
                p.amount_fen,
                p.state,
                reason or "",
                at.astimezone(CHINA).isoformat(timespec="seconds"),
            ]
        )
    writer.writerow(["T", len(payments), total])
    return out.getvalue().encode("utf-8")
