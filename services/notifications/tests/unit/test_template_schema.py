"""The template schema the OpenAPI states is the rule `validate_template` applies: every body, marketing body
and signature a generator draws from its patterns is saved by the domain, each pattern refuses the control
characters the kit refuses (so the kit adds no second pattern a generator could meet only by filtering), and
bodies the domain refuses do not match."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carekit.http.openapi import pattern_refuses_control_characters
from notifications.api.template_schema import MARKETING_BODY, SIGNATURE, STATUTORY_BODY
from notifications.domain.errors import TemplateInvalid
from notifications.domain.templates import validate_template

IDS = {"aliyun": "SMS_1"}


def saved(body: str, category: str, signature: str = "【XX县卫健委】") -> bool:
    try:
        validate_template("a_code", "zh", body, signature, category, IDS)
    except TemplateInvalid:
        return False
    return True


@pytest.mark.parametrize(("pattern", "sample"), [
    (STATUTORY_BODY, "{name}您好，您家已符合{policy_name}条件。"),
    (MARKETING_BODY, "欢迎参加健康讲座。回T退订"),
    (SIGNATURE, "【XX县卫健委】"),
])
def test_each_pattern_refuses_the_control_characters_the_kit_refuses(pattern, sample) -> None:
    assert pattern_refuses_control_characters(pattern, sample)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(STATUTORY_BODY, fullmatch=True).filter(lambda b: 1 <= len(b) <= 500))
def test_a_body_drawn_from_the_statutory_pattern_is_saved(body) -> None:
    assert saved(body, "statutory")


@settings(max_examples=300, deadline=None)
@given(st.from_regex(MARKETING_BODY, fullmatch=True).filter(lambda b: 1 <= len(b) <= 500))
def test_a_body_drawn_from_the_marketing_pattern_is_saved_as_marketing(body) -> None:
    assert saved(body, "marketing")


@settings(max_examples=200, deadline=None)
@given(st.from_regex(SIGNATURE, fullmatch=True))
def test_a_signature_drawn_from_its_pattern_is_saved(signature) -> None:
    assert saved("您好", "statutory", signature)


@pytest.mark.parametrize(("body", "category"), [
    ("   ", "statutory"),
    ("您好{unknown}", "statutory"),
    ("您好{", "statutory"),
    ("欢迎参加健康讲座。", "marketing"),
    ("{name}您好 }", "marketing"),
])
def test_bodies_the_domain_refuses_do_not_match(body, category) -> None:
    pattern = MARKETING_BODY if category == "marketing" else STATUTORY_BODY
    assert not saved(body, category)
    assert not re.search(pattern, body)
