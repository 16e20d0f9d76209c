import pytest

from notifications.domain.errors import TemplateInvalid
from notifications.domain.templates import Category, placeholders_of, render, sms_parts, validate_template, yuan

SIGN = "【XX县卫健委】"


def make(body: str, category: str = "statutory", **kw):  # noqa: ANN003, ANN201
    return validate_template("decision_granted", "zh", body, SIGN, category, {"aliyun": "SMS_1"}, **kw)


def test_both_placeholder_styles_are_found_in_order() -> None:
    assert placeholders_of("您好{name}，${policy_name}已批准，{name}") == ("name", "policy_name")


def test_unknown_placeholders_are_named() -> None:
    with pytest.raises(TemplateInvalid) as err:
        make("您好{name}，{salary}与${bonus}")
    assert err.value.unknown_placeholders == ["salary", "bonus"]
    assert "salary" in str(err.value)


def test_marketing_needs_an_unsubscribe_line() -> None:
    with pytest.raises(TemplateInvalid):
        make("请为我们的服务打分", "marketing")
    assert make("请为我们的服务打分，回T退订", "marketing").category is Category.MARKETING


@pytest.mark.parametrize(
    "bad",
    [
        {"signature": "XX县卫健委"},
        {"language": "fr"},
        {"code": "Bad Code"},
        {"provider_template_ids": {}},
        {"provider_template_ids": {"twilio": "x"}},
        {"category": "promo"},
    ],
)
def test_other_fields_are_checked(bad: dict) -> None:
    args = {
        "code": "c1",
        "language": "zh",
        "body": "您好",
        "signature": SIGN,
        "category": "statutory",
        "provider_template_ids": {"aliyun": "SMS_1"},
    } | bad
    with pytest.raises(TemplateInvalid):
        validate_template(**args)


def test_unclosed_brace_is_refused() -> None:
    with pytest.raises(TemplateInvalid):
        make("您好{name")


def test_render_puts_signature_first_and_fills_values() -> None:
    t = make("您好{name}，${policy_name}已批准。")
    assert render(t, {"name": "王建国", "policy_name": "育儿补贴"}) == SIGN + "您好王建国，育儿补贴已批准。"
    with pytest.raises(KeyError):
        render(t, {"name": "王"})


@pytest.mark.parametrize(
    ("length", "parts"), [(0, 0), (1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_carrier_part_rule(length: int, parts: int) -> None:
    assert sms_parts("字" * length) == parts


def test_signature_counts_toward_length() -> None:
    t = make("字" * (70 - len(SIGN)))
    assert sms_parts(render(t, {})) == 1
    t = make("字" * (71 - len(SIGN)))
    assert sms_parts(render(t, {})) == 2


def test_yuan_formats_fen() -> None:
    assert yuan(96000) == "960.00"
    assert yuan(5) == "0.05"
    assert yuan(-150) == "-1.50"
