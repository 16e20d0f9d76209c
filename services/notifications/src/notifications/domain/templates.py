"""SMS templates: named placeholders, signature, category, rendering and carrier length rules.

Chinese carriers count characters of the whole text *including* the signature 【…】: up to 70 characters
go as one message; a longer text is split into parts of 67 characters (3 go to the concatenation header).
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from notifications.domain.errors import TemplateInvalid

# `{name}` and `${name}` both name a placeholder.
PLACEHOLDER = re.compile(r"\$?\{([A-Za-z_][A-Za-z0-9_]*)\}")
CODE = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
SIGNATURE = re.compile(r"^【([^【】]{2,16})】$")
# Marketing must tell the reader how to stop it, at the very end.
UNSUBSCRIBE = re.compile(r"(回T退订|回复T退订|回TD退订|回复TD退订|退订回T|退订回TD)[。.!！]?$")
SINGLE_PART = 70
PER_PART = 67
PROVIDERS = ("aliyun", "tencent")
LANGUAGES = ("zh", "en")

# The values the service can fill in, with what they mean (shown on the template form).
KNOWN_PLACEHOLDERS: dict[str, str] = {
    "name": "recipient's name (from the registry at send time)",
    "policy_name": "the benefit's name",
    "benefits": "the decided benefits, each named with its amount and period (cash) or what it gives",
    "amount_yuan": "amount in yuan, e.g. 960.00",
    "period": "benefit period, e.g. 2026 or 2026-03",
    "effective_date": "date the decision takes effect",
    "reason": "reason in Chinese (refusal, failed payment…)",
    "step": "relief application step",
    "occurred_on": "date of the event",
    "hotline": "the county's service hotline",
}


class Category(StrEnum):
    STATUTORY = "statutory"  # notices the family is entitled to receive; not subject to opt-out
    MARKETING = "marketing"  # surveys, campaigns: need consent and an unsubscribe line


@dataclass(frozen=True)
class Template:
    code: str
    language: str
    body: str
    signature: str
    category: Category
    provider_template_ids: Mapping[str, str]
    urgent: bool = False
    survey: bool = False  # a reply digit 1–5 to this template is a satisfaction score
    placeholders: tuple[str, ...] = field(default=())

    @property
    def sign_name(self) -> str:
        return self.signature[1:-1]


def placeholders_of(body: str) -> tuple[str, ...]:
    """Placeholder names in order of first appearance."""
    return tuple(dict.fromkeys(m.group(1) for m in PLACEHOLDER.finditer(body)))


def validate_template(
    code: str,
    language: str,
    body: str,
    signature: str,
    category: str,
    provider_template_ids: Mapping[str, str],
    *,
    urgent: bool = False,
    survey: bool = False,
) -> Template:
    """A valid Template or TemplateInvalid naming every problem (unknown placeholders listed by name)."""
    problems: list[tuple[str, str, str]] = []
    if not CODE.match(code):
        problems.append(
            (
                "code",
                "A code is 2–63 lower-case letters, digits or underscores, starting with a letter.",
                "编码应为2至63位小写字母、数字或下划线，并以字母开头。",
            )
        )
    if language not in LANGUAGES:
        problems.append(("language", f"Language must be one of {', '.join(LANGUAGES)}.", "语言只能是 zh 或 en。"))
    if not SIGNATURE.match(signature):
        problems.append(
            (
                "signature",
                "The signature is 2–16 characters in 【】, e.g. 【XX县卫健委】.",
                "签名应为【】括起的2至16个字，如【XX县卫健委】。",
            )
        )
    if category not in {c.value for c in Category}:
        problems.append(("category", "Category is statutory or marketing.", "类别只能是 statutory 或 marketing。"))
    names = placeholders_of(body)
    unknown = [n for n in names if n not in KNOWN_PLACEHOLDERS]
    if unknown:
        problems.append(
            (
                "body",
                f"Unknown placeholders: {', '.join(unknown)}. Known: {', '.join(KNOWN_PLACEHOLDERS)}.",
                f"未知的占位符：{'、'.join(unknown)}。",
            )
        )
    if not body.strip() or "{" in PLACEHOLDER.sub("", body) or "}" in PLACEHOLDER.sub("", body):
        problems.append(("body", "The body is empty or has an unclosed brace.", "正文为空或含有不成对的花括号。"))
    if category == Category.MARKETING and not UNSUBSCRIBE.search(body.strip()):
        problems.append(
            (
                "body",
                "A marketing text must end with an unsubscribe line such as 回T退订.",
                "营销类短信须以退订提示（如“回T退订”）结尾。",
            )
        )
    if survey and category != Category.MARKETING:
        problems.append(("survey", "A survey is a marketing text (it needs consent).", "满意度调查属于营销类短信。"))
    bad_providers = [p for p in provider_template_ids if p not in PROVIDERS]
    if not provider_template_ids or bad_providers:
        problems.append(
            (
                "provider_template_ids",
                f"Give the template id for at least one of {', '.join(PROVIDERS)}.",
                "请至少填写一个短信服务商（aliyun、tencent）的模板编号。",
            )
        )
    if problems:
        raise TemplateInvalid(problems, unknown_placeholders=unknown)
    return Template(
        code=code,
        language=language,
        body=body,
        signature=signature,
        category=Category(category),
        provider_template_ids=dict(provider_template_ids),
        urgent=urgent,
        survey=survey,
        placeholders=names,
    )


def render(template: Template, values: Mapping[str, str]) -> str:
    """The full text as the phone shows it: signature then body. Missing values raise KeyError."""
    missing = [n for n in template.placeholders if n not in values]
    if missing:
        raise KeyError(", ".join(missing))
    return template.signature + PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template.body)


def sms_parts(text: str) -> int:
    """How many messages the carriers bill for this text (signature included)."""
    length = len(text)
    if length == 0:
        return 0
    return 1 if length <= SINGLE_PART else math.ceil(length / PER_PART)


def yuan(amount_fen: int) -> str:
    return f"{amount_fen // 100}.{amount_fen % 100:02d}" if amount_fen >= 0 else "-" + yuan(-amount_fen)
