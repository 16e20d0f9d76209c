"""Bank batch file export and result file import."""

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from relief.adapters.payments import PaymentInstruction
from relief.adapters.payments.bank_file import export_batch_file, parse_result_file

INSTRUCTIONS = [
    PaymentInstruction("B7-000001", 96000, "张三", "6222020200112233445", "农村部分计划生育家庭奖励扶助 2026"),
    PaymentInstruction("B7-000002", 120050, "李四, 小名", "6228480402564890018", 'memo with "quotes"'),
]


def test_the_batch_file_has_header_details_and_trailer_with_count_and_sum() -> None:
    data = export_batch_file("B7", INSTRUCTIONS)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert rows[0] == ["H", "GUANHUAI-PAY", "1", "B7", "2", "216050"]
    assert rows[1] == [
        "D",
        "1",
        "B7-000001",
        "6222020200112233445",
        "张三",
        "96000",
        "农村部分计划生育家庭奖励扶助 2026",
    ]
    assert rows[2][4:] == ["李四, 小名", "120050", 'memo with "quotes"']
    assert rows[-1] == ["T", "2", "216050"]
    assert len(rows) == 4


def test_a_non_positive_amount_is_not_exported() -> None:
    with pytest.raises(ValueError):
        export_batch_file("B8", [PaymentInstruction("B8-1", 0, "王五", "6222020200112233445", "")])


RESULT = (
    "H,GUANHUAI-RES,1,B7,3,336050\r\n"
    "R,B7-000001,BANK0001,96000,succeeded,,2026-11-24T10:00:00+08:00\r\n"
    "R,B7-000002,BANK0002,120050,failed,户名不符,2026-11-24T10:00:01+08:00\r\n"
    "R,B7-000003,BANK0003,120000,returned,收款行退汇,2026-11-25T09:00:00+08:00\r\n"
    "T,3,336050\r\n"
)


def test_a_result_file_becomes_statuses() -> None:
    statuses = parse_result_file(RESULT.encode("utf-8"))
    assert [(s.end_to_end_id, s.state, s.provider_ref, s.reason) for s in statuses] == [
        ("B7-000001", "succeeded", "BANK0001", None),
        ("B7-000002", "failed", "BANK0002", "户名不符"),
        ("B7-000003", "returned", "BANK0003", "收款行退汇"),
    ]
    assert statuses[0].occurred_at == datetime(2026, 11, 24, 10, tzinfo=timezone(timedelta(hours=8)))


def test_a_gb18030_result_file_is_read_too() -> None:
    assert parse_result_file(RESULT.encode("gb18030"))[1].reason == "户名不符"


@pytest.mark.parametrize(
    "broken",
    [
        RESULT.replace("T,3,336050", "T,2,336050"),  # count disagrees
        RESULT.replace("T,3,336050", "T,3,336051"),  # sum disagrees
        RESULT.replace("H,GUANHUAI-RES,1,B7,3,336050", "H,GUANHUAI-RES,1,B7,3,1"),  # header disagrees
        RESULT.replace("succeeded", "paid"),  # unknown state
        RESULT.replace("96000", "96000.00"),  # fen must be whole
        RESULT.replace("T,3,336050\r\n", ""),  # no trailer
        RESULT.replace("GUANHUAI-RES", "GUANHUAI-PAY"),  # a batch file, not a result
        RESULT.replace("2026-11-24T10:00:00+08:00", "yesterday"),
    ],
)
def test_a_broken_result_file_is_refused_whole(broken: str) -> None:
    with pytest.raises(ValueError):
        parse_result_file(broken.encode())
