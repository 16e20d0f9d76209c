"""PII never reaches the logs: masking by key, at any depth, and through the configured pipeline."""

import io
import json
import logging
from collections import namedtuple

import pytest
import structlog

from carekit.logging import MASK, bind_context, clear_context, configure_logging, mask_pii

ID = "110101199003077777"


@pytest.mark.parametrize("key", ["national_id", "id_number", "phone", "phone_number", "bank_account",
                                 "bank_card", "name", "full_name", "Phone", "NATIONAL_ID",
                                 "nationalId", "idNumber", "bankAccount", "national-id"])
def test_pii_keys_are_masked(key) -> None:
    assert mask_pii({key: ID, "status": "ok"}) == {key: MASK, "status": "ok"}


def test_masks_at_any_depth_and_leaves_the_rest() -> None:
    event = {
        "event": "family registered",
        "family_id": "f-1",
        "head": {"name": "张三", "national_id": ID, "region": "360702001001"},
        "members": [{"name": "李四", "relation": "spouse",
                     "contacts": [{"phone": "13800138000", "kind": "m"}]}],
        "accounts": ({"bank_account": "6222020200112233445", "bank": "ICBC"},),
        "count": 2,
    }
    assert mask_pii(event) == {
        "event": "family registered",
        "family_id": "f-1",
        "head": {"name": MASK, "national_id": MASK, "region": "360702001001"},
        "members": [{"name": MASK, "relation": "spouse", "contacts": [{"phone": MASK, "kind": "m"}]}],
        "accounts": ({"bank_account": MASK, "bank": "ICBC"},),
        "count": 2,
    }
    assert event["head"]["national_id"] == ID  # the caller's data is not changed


def test_whole_pii_subtrees_are_masked() -> None:
    assert mask_pii({"name": {"given": "三", "family": "张"}}) == {"name": MASK}


def test_similar_but_harmless_keys_are_kept() -> None:
    event = {"service_name": "registry", "event_name": "x", "phone_verified": True, "named": 1, 3: "three"}
    assert mask_pii(event) == event


def test_named_tuples_do_not_break_logging() -> None:
    Pair = namedtuple("Pair", "left right")
    assert mask_pii({"pair": Pair({"phone": "1"}, 2)}) == {"pair": ({"phone": MASK}, 2)}


def test_scalars_pass_through() -> None:
    assert mask_pii("phone") == "phone"
    assert mask_pii(None) is None


@pytest.fixture
def json_logs():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("INFO", json=True)
    buffer = io.StringIO()
    root.handlers[0].setStream(buffer)

    def lines() -> list[dict]:
        return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]

    yield lines
    clear_context()
    root.handlers, root.level = saved


def test_configured_logger_masks_fields_and_bound_context(json_logs) -> None:
    bind_context(request_id="r-1", phone="13800138000")
    structlog.get_logger("pii-test").info("applicant", national_id=ID, members=[{"name": "张三"}], ok=True)
    [line] = [entry for entry in json_logs() if entry.get("event") == "applicant"]
    assert line["national_id"] == MASK
    assert line["members"] == [{"name": MASK}]
    assert line["phone"] == MASK
    assert line["request_id"] == "r-1"
    assert line["ok"] is True
    assert ID not in json.dumps(line)
