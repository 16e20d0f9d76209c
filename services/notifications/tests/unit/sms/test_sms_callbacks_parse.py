"""Parsing receipts and replies in each provider's documented JSON shape."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from notifications.adapters.sms import DeliveryReceipt, InboundSms, SmsRequest
from notifications.adapters.sms.aliyun import AliyunSms
from notifications.adapters.sms.aliyun import is_retryable as aliyun_retryable
from notifications.adapters.sms.common import CallbackInvalid
from notifications.adapters.sms.tencent import TencentSms, template_values
from notifications.adapters.sms.tencent import is_retryable as tencent_retryable

CHINA = timezone(timedelta(hours=8))
aliyun = AliyunSms("http://127.0.0.1:9/aliyun", "id", "secret")
tencent = TencentSms("http://127.0.0.1:9/tencent", "id", "key", "1400000001")


def test_aliyun_sms_report() -> None:
    body = json.dumps(
        [
            {
                "phone_number": "13812345678",
                "send_time": "2026-11-24 10:00:00",
                "report_time": "2026-11-24 10:00:05",
                "success": True,
                "err_code": "DELIVERED",
                "err_msg": "用户接收成功",
                "sms_size": "1",
                "biz_id": "900619746936498440^0",
                "out_id": "m-1",
            },
            {
                "phone_number": "13912345678",
                "send_time": "2026-11-24 10:00:00",
                "report_time": "2026-11-24 10:00:07",
                "success": False,
                "err_code": "MK:0001",
                "err_msg": "用户接收失败",
                "sms_size": "1",
                "biz_id": "900619746936498441^0",
                "out_id": "",
            },
        ],
        ensure_ascii=False,
    ).encode()
    assert aliyun.parse_receipts(body) == [
        DeliveryReceipt(
            "aliyun",
            "900619746936498440^0",
            "m-1",
            "+8613812345678",
            True,
            None,
            datetime(2026, 11, 24, 10, 0, 5, tzinfo=CHINA),
        ),
        DeliveryReceipt(
            "aliyun",
            "900619746936498441^0",
            None,
            "+8613912345678",
            False,
            "MK:0001",
            datetime(2026, 11, 24, 10, 0, 7, tzinfo=CHINA),
        ),
    ]


def test_aliyun_sms_up() -> None:
    body = json.dumps(
        [
            {
                "phone_number": "13812345678",
                "send_time": "2026-11-24 20:00:00",
                "content": "退订",
                "sign_name": "XX县卫健委",
                "dest_code": "",
                "sequence_id": 7,
            }
        ],
        ensure_ascii=False,
    ).encode()
    assert aliyun.parse_inbound(body) == [
        InboundSms("aliyun", "+8613812345678", "退订", datetime(2026, 11, 24, 12, tzinfo=UTC))
    ]


def test_tencent_status_callback() -> None:
    body = json.dumps(
        [
            {
                "user_receive_time": "2026-11-24 10:00:05",
                "nationcode": "86",
                "mobile": "13812345678",
                "report_status": "SUCCESS",
                "errmsg": "DELIVRD",
                "description": "用户短信送达成功",
                "sid": "2433:1",
            },
            {
                "user_receive_time": "2026-11-24 10:00:06",
                "nationcode": "86",
                "mobile": "13912345678",
                "report_status": "FAIL",
                "errmsg": "MI:0013",
                "description": "用户短信接收失败",
                "sid": "2433:2",
            },
        ],
        ensure_ascii=False,
    ).encode()
    receipts = tencent.parse_receipts(body)
    assert [(r.provider_message_id, r.phone, r.delivered, r.error_code) for r in receipts] == [
        ("2433:1", "+8613812345678", True, None),
        ("2433:2", "+8613912345678", False, "MI:0013"),
    ]
    assert receipts[0].message_id is None


def test_tencent_reply_callback() -> None:
    body = b'{"extend": "", "mobile": "13812345678", "nationcode": "86", "sign": "XX", "text": "5", "time": 1795478400}'
    assert tencent.parse_inbound(body) == [
        InboundSms("tencent", "+8613812345678", "5", datetime(2026, 11, 24, tzinfo=UTC))
    ]


@pytest.mark.parametrize("body", [b"nope", b'[{"phone_number": "138"}]', b"[1, 2]", b'{"success": true}'])
def test_malformed_bodies_raise_value_error(body: bytes) -> None:
    for parse in (aliyun.parse_receipts, aliyun.parse_inbound, tencent.parse_receipts, tencent.parse_inbound):
        with pytest.raises(ValueError):
            parse(body)


def test_retryable_codes() -> None:
    assert aliyun_retryable("Throttling.User") and aliyun_retryable("isp.SYSTEM_ERROR")
    assert aliyun_retryable("isv.BUSINESS_LIMIT_CONTROL")
    assert not aliyun_retryable("isv.MOBILE_NUMBER_ILLEGAL") and not aliyun_retryable("SignatureDoesNotMatch")
    assert tencent_retryable("RequestLimitExceeded") and tencent_retryable("InternalError.Timeout")
    assert not tencent_retryable("FailedOperation.PhoneNumberInBlacklist")
    assert not tencent_retryable("AuthFailure.SignatureFailure")


def test_tencent_template_values_follow_param_order() -> None:
    request = SmsRequest("m", "+8613812345678", "S", "1", {"amount": "960", "name": "张三"}, ("name", "amount"))
    assert template_values(request) == ["张三", "960"]


@pytest.mark.parametrize(
    ("time", "accepted"),
    [
        (1795478400, True),
        (1795478400.0, True),
        ("1795478400", False),
        (True, False),
        (1795478400.5, False),
        (-1, False),
        (10**20, False),
    ],
)
def test_a_tencent_reply_time_is_a_whole_number_of_seconds_as_the_openapi_says(time: object, accepted: bool) -> None:
    body = json.dumps({"mobile": "13812345678", "text": "5", "time": time}).encode()
    if accepted:
        assert tencent.parse_inbound(body)[0].received_at == datetime(2026, 11, 24, tzinfo=UTC)
    else:
        with pytest.raises(CallbackInvalid) as refused:
            tencent.parse_inbound(body)
        assert [field for field, _ in refused.value.errors] == ["time"]


def test_booleans_are_not_numbers_and_numbers_not_booleans() -> None:
    item = {"phone_number": "13812345678", "send_time": "2026-11-24 20:00:00", "content": "T"}
    with pytest.raises(CallbackInvalid):
        aliyun.parse_inbound(json.dumps([item | {"sequence_id": False}]).encode())
    receipt = {"phone_number": "13812345678", "report_time": "2026-11-24 10:00:05", "biz_id": "b"}
    with pytest.raises(CallbackInvalid):
        aliyun.parse_receipts(json.dumps([receipt | {"success": 1}]).encode())
    assert aliyun.parse_receipts(json.dumps([receipt | {"success": True}]).encode())[0].delivered
