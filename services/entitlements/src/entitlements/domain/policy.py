"""Policies as data: what a benefit is, who gets it and how much, with its legal source.

A `Policy` is one immutable version of a benefit rule:

* `code` (stable across versions, e.g. `rural-reward-assistance`) and `version` (1, 2, …);
* names in Chinese and English, the legal basis (document numbers, 文件号) and optional notes;
* `jurisdiction`: a division-code prefix (`""` national, 2 digits a province, 4 a prefecture, 6 a county,
  9 a township, 12 a village) matched against the household's hukou division, or against where it
  lives when `jurisdiction_basis` is `residence` (for "same services where they live" policies);
* `effective_from` / `effective_to`: the first and last day it is in force (`effective_to` None: open);
* `subject`: `person` (criteria may read `person.*` and `household.*`) or `household` (only
  `household.*`; one decision per household);
* `criteria`: CEL expressions over the facts catalogue, each with a label in zh and en (and optionally
  an `unmet` wording used when it fails); all must hold;
* `benefit`: its kind, an amount formula (CEL giving an integer: fen for cash kinds, points for exam
  bonus points, 0 for flags, services, waivers and enrolments) and the fund code that pays it.

`check_policy` validates a policy and compiles its expressions; it raises `PolicyError` naming the field,
with the position of the fault inside an expression (unknown fact, type error, syntax error). A policy
with `batch: true` (the default) must also stay inside the SQL subset (see `sql_compiler`), so that
cycles and simulations can evaluate it for a whole population; that is refused at creation too.

Lifecycle: a version is drafted (`draft`), activated by an approver who is not its drafter (`active`),
and later retired (`retired`). Active and retired versions are immutable: `amend` refuses them, a
change is a new version.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from entitlements.domain.errors import ExpressionError, PolicyError
from entitlements.domain.expressions import Expression, analyse


class Subject(StrEnum):
    PERSON = "person"
    HOUSEHOLD = "household"


class BenefitKind(StrEnum):
    CASH_YEARLY = "cash_yearly"
    CASH_MONTHLY = "cash_monthly"
    CASH_ONCE = "cash_once"
    IN_KIND_SERVICE = "in_kind_service"
    INSURANCE_ENROLMENT = "insurance_enrolment"
    FEE_WAIVER = "fee_waiver"
    EXAM_BONUS_POINTS = "exam_bonus_points"
    PRIORITY_FLAG = "priority_flag"

    @property
    def unit(self) -> str:
        """What the amount counts: fen (cash), points (exam bonus) or nothing (a grant without an amount)."""
        if self in (BenefitKind.CASH_YEARLY, BenefitKind.CASH_MONTHLY, BenefitKind.CASH_ONCE):
            return "fen"
        if self is BenefitKind.EXAM_BONUS_POINTS:
            return "points"
        return "none"


class Status(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


class JurisdictionBasis(StrEnum):
    HUKOU = "hukou"
    RESIDENCE = "residence"


@dataclass(frozen=True)
class Text:
    zh: str
    en: str


@dataclass(frozen=True)
class Criterion:
    expr: str
    label: Text
    unmet: Text | None = None  # the wording when it fails, e.g. "{subject}年龄未满60周岁"


@dataclass(frozen=True)
class Benefit:
    kind: BenefitKind
    amount: str = "0"  # CEL, integer
    fund: str | None = None

    @property
    def unit(self) -> str:
        return self.kind.unit


@dataclass(frozen=True)
class Policy:
    code: str
    version: int
    name: Text
    legal_basis: str
    jurisdiction: str
    effective_from: date
    subject: Subject
    criteria: tuple[Criterion, ...]
    benefit: Benefit
    effective_to: date | None = None
    jurisdiction_basis: JurisdictionBasis = JurisdictionBasis.HUKOU
    batch: bool = True
    notes: Text | None = None
    status: Status = Status.DRAFT
    drafted_by: str | None = None
    approved_by: str | None = None

    @property
    def scopes(self) -> tuple[str, ...]:
        return ("person", "household") if self.subject is Subject.PERSON else ("household",)

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    def covers(self, division_code: str) -> bool:
        return division_code.startswith(self.jurisdiction)


@dataclass(frozen=True)
class CheckedPolicy:
    """A valid policy with its expressions compiled (Rust CEL programs and checked ASTs)."""

    policy: Policy
    criteria: tuple[Expression, ...]
    amount: Expression
    batch_problem: PolicyError | None  # why the SQL path cannot take it (None: it can)

    @property
    def batch_ok(self) -> bool:
        return self.batch_problem is None

    @property
    def facts_read(self) -> tuple[str, ...]:
        """Every fact the criteria and the amount read, in order of first appearance."""
        names = [name for expression in (*self.criteria, self.amount) for name in expression.facts]
        return tuple(dict.fromkeys(names))


# The shapes, as patterns the OpenAPI states too (`\Z`-free: JSON Schema patterns are ECMA regexes).
CODE_PATTERN = r"^[a-z][a-z0-9-]{2,63}$"
FUND_PATTERN = r"^[A-Z0-9][A-Z0-9_.-]{1,31}$"
JURISDICTION_PATTERN = r"^(?:[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})?$"
MAX_VERSION = 2**31 - 1  # the column is a PostgreSQL integer
_CODE = re.compile(CODE_PATTERN.removesuffix("$") + r"\Z")
_FUND = re.compile(FUND_PATTERN.removesuffix("$") + r"\Z")
_JURISDICTION = re.compile(JURISDICTION_PATTERN.removesuffix("$") + r"\Z")  # ASCII digits only
_CASH = (BenefitKind.CASH_YEARLY, BenefitKind.CASH_MONTHLY, BenefitKind.CASH_ONCE)


def check_policy(policy: Policy) -> CheckedPolicy:
    """Validate `policy` and compile its expressions, or raise PolicyError (field, messages, position)."""
    if not _CODE.match(policy.code):
        raise PolicyError("code", "A code is 3–64 lower-case letters, digits and hyphens, starting with a letter.",
                          "政策代码应为3至64位小写字母、数字或连字符，以字母开头。")
    if policy.version < 1:
        raise PolicyError("version", "Versions start at 1.", "版本号从1开始。")
    for lang, text in (("zh", policy.name.zh), ("en", policy.name.en)):
        if not text.strip():
            raise PolicyError(f"name.{lang}", "The policy needs a name in Chinese and English.", "政策须有中英文名称。")
    if not policy.legal_basis.strip():
        raise PolicyError("legal_basis", "Name the legal basis (document number).", "请填写政策依据（文件号）。")
    if not _JURISDICTION.match(policy.jurisdiction):
        raise PolicyError("jurisdiction", "A jurisdiction is a division-code prefix of 0, 2, 4, 6, 9 or 12 digits.",
                          "适用地区应为0、2、4、6、9或12位的区划代码前缀。")
    if policy.effective_to is not None and policy.effective_to < policy.effective_from:
        raise PolicyError("effective_to", "The policy cannot end before it starts.", "政策终止日期不能早于生效日期。")
    if not policy.criteria:
        raise PolicyError("criteria", "A policy needs at least one criterion.", "政策至少须有一项条件。")
    if policy.benefit.kind in _CASH and not (policy.benefit.fund and _FUND.match(policy.benefit.fund)):
        raise PolicyError("benefit.fund", "A cash benefit names the fund that pays it (e.g. FP-REWARD).",
                          "现金待遇须写明支付资金的代码（如 FP-REWARD）。")
    if policy.benefit.fund is not None and not _FUND.match(policy.benefit.fund):
        raise PolicyError("benefit.fund", "A fund code is 2–32 capitals, digits, '_', '.' or '-'.",
                          "资金代码应为2至32位大写字母、数字或 _ . -。")

    criteria: list[Expression] = []
    for index, criterion in enumerate(policy.criteria):
        for lang, text in (("zh", criterion.label.zh), ("en", criterion.label.en)):
            if not text.strip():
                raise PolicyError(f"criteria[{index}].label.{lang}", "Each criterion needs a label in zh and en.",
                                  "每项条件须有中英文说明。")
        try:
            criteria.append(analyse(criterion.expr, policy.scopes, "bool"))
        except ExpressionError as exc:
            raise exc.in_field(f"criteria[{index}].expr") from None
    try:
        amount = analyse(policy.benefit.amount, policy.scopes, "int")
    except ExpressionError as exc:
        raise exc.in_field("benefit.amount") from None

    problem: PolicyError | None = None
    for index, expression in enumerate(criteria):
        if expression.batch_problem is not None:
            problem = expression.batch_problem.in_field(f"criteria[{index}].expr")
            break
    if problem is None and amount.batch_problem is not None:
        problem = amount.batch_problem.in_field("benefit.amount")
    if problem is not None and policy.batch:
        raise problem
    return CheckedPolicy(policy=policy, criteria=tuple(criteria), amount=amount, batch_problem=problem)


def visible_in(jurisdiction: str, region: str | None) -> bool:
    """A policy concerns a caller of `region` when one contains the other: the national, provincial…
    policies above the region and those drafted inside it; never a neighbouring county's. No region,
    no policy."""
    return bool(region) and (jurisdiction.startswith(region) or region.startswith(jurisdiction))  # type: ignore[union-attr]


def overlaps(a: Policy, b: Policy) -> bool:
    """Two versions of one code for one jurisdiction whose periods share a day (only one may be active)."""
    if a.code != b.code or a.jurisdiction != b.jurisdiction:
        return False
    a_end, b_end = a.effective_to or date.max, b.effective_to or date.max
    return a.effective_from <= b_end and b.effective_from <= a_end


def activate(policy: Policy, approver: str) -> Policy:
    """The approved version: maker ≠ checker."""
    if policy.status is not Status.DRAFT:
        raise PolicyError("status", "Only a draft can be activated.", "只有草稿可以启用。")
    if policy.drafted_by is not None and policy.drafted_by == approver:
        raise PolicyError("approved_by", "A policy is activated by someone other than its drafter.",
                          "政策须由起草人以外的人审核启用。")
    check_policy(policy)
    return dataclasses.replace(policy, status=Status.ACTIVE, approved_by=approver)


def retire(policy: Policy) -> Policy:
    if policy.status is not Status.ACTIVE:
        raise PolicyError("status", "Only an active version can be retired.", "只有已启用的版本可以停用。")
    return dataclasses.replace(policy, status=Status.RETIRED)


def amend(policy: Policy, **changes: Any) -> Policy:
    """A changed draft; an active or retired version is immutable (draft a new version instead)."""
    if policy.status is not Status.DRAFT:
        raise PolicyError("status", "An active or retired version is immutable: draft a new version.",
                          "已启用或已停用的版本不可修改，请起草新版本。")
    if {"status", "approved_by"} & set(changes):
        raise PolicyError("status", "Status changes go through activate and retire.", "状态只能通过启用或停用改变。")
    return dataclasses.replace(policy, **changes)


# ── from plain data (YAML, JSON) ─────────────────────────────────────────────────────────────────


def policy_from_dict(data: dict[str, Any]) -> Policy:
    """A Policy from its YAML/JSON shape (see policies/README.md); PolicyError on a malformed field."""
    if not isinstance(data, dict):
        raise PolicyError("", "A policy is a mapping of fields.", "政策应为字段映射。")
    allowed = {"code", "version", "name", "legal_basis", "jurisdiction", "jurisdiction_basis", "effective_from",
               "effective_to", "subject", "criteria", "benefit", "batch", "notes", "status", "drafted_by",
               "approved_by", "sources"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise PolicyError(unknown[0], f"Unknown field {unknown[0]}.", f"未知字段 {unknown[0]}。")
    benefit = _mapping(data, "benefit")
    criteria_data = data.get("criteria")
    if not isinstance(criteria_data, list):
        raise PolicyError("criteria", "Criteria are a list.", "条件应为列表。")
    criteria = []
    for index, item in enumerate(criteria_data):
        where = f"criteria[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("expr"), str):
            raise PolicyError(f"{where}.expr", "Each criterion has an expr (CEL text).",
                              "每项条件须有 expr（CEL 表达式）。")
        criteria.append(Criterion(expr=item["expr"], label=_text(item, "label", where),
                                  unmet=_text(item, "unmet", where) if item.get("unmet") is not None else None))
    amount = benefit.get("amount", "0")
    return Policy(
        code=_str(data, "code"),
        version=_int(data, "version", 1),
        name=_text(data, "name", ""),
        legal_basis=_str(data, "legal_basis"),
        jurisdiction=str(data.get("jurisdiction", "") or ""),
        jurisdiction_basis=_enum(JurisdictionBasis, data.get("jurisdiction_basis", "hukou"), "jurisdiction_basis"),
        effective_from=_date(data, "effective_from"),
        effective_to=_date(data, "effective_to") if data.get("effective_to") is not None else None,
        subject=_enum(Subject, data.get("subject"), "subject"),
        criteria=tuple(criteria),
        benefit=Benefit(kind=_enum(BenefitKind, benefit.get("kind"), "benefit.kind"),
                        amount=str(amount) if isinstance(amount, int | str) else _bad("benefit.amount"),
                        fund=str(benefit["fund"]) if benefit.get("fund") is not None else None),
        batch=bool(data.get("batch", True)),
        notes=_text(data, "notes", "") if data.get("notes") is not None else None,
        status=_enum(Status, data.get("status", "draft"), "status"),
        drafted_by=data.get("drafted_by"),
        approved_by=data.get("approved_by"),
    )


def policy_to_dict(policy: Policy) -> dict[str, Any]:
    """The plain-data shape `policy_from_dict` reads (dates as ISO strings)."""
    return {
        "code": policy.code, "version": policy.version, "name": {"zh": policy.name.zh, "en": policy.name.en},
        "legal_basis": policy.legal_basis, "jurisdiction": policy.jurisdiction,
        "jurisdiction_basis": policy.jurisdiction_basis.value, "effective_from": policy.effective_from.isoformat(),
        "effective_to": policy.effective_to.isoformat() if policy.effective_to else None,
        "subject": policy.subject.value,
        "criteria": [{"expr": c.expr, "label": {"zh": c.label.zh, "en": c.label.en},
                      **({"unmet": {"zh": c.unmet.zh, "en": c.unmet.en}} if c.unmet else {})}
                     for c in policy.criteria],
        "benefit": {"kind": policy.benefit.kind.value, "amount": policy.benefit.amount, "fund": policy.benefit.fund,
                    "unit": policy.benefit.unit},
        "batch": policy.batch,
        "notes": {"zh": policy.notes.zh, "en": policy.notes.en} if policy.notes else None,
        "status": policy.status.value, "drafted_by": policy.drafted_by, "approved_by": policy.approved_by,
    }


def _bad(field: str) -> Any:
    raise PolicyError(field, "Invalid value.", "取值无效。")


def _mapping(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise PolicyError(key, f"{key} is a mapping.", f"{key} 应为字段映射。")
    return value


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(key, f"{key} is required text.", f"{key} 为必填文本。")
    return value


def _int(data: dict[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise PolicyError(key, f"{key} is an integer.", f"{key} 应为整数。")
    return value


def _text(data: dict[str, Any], key: str, where: str) -> Text:
    value = data.get(key)
    field = f"{where}.{key}" if where else key
    if not isinstance(value, dict) or not isinstance(value.get("zh"), str) or not isinstance(value.get("en"), str):
        raise PolicyError(field, f"{field} has zh and en text.", f"{field} 须有中文（zh）和英文（en）。")
    return Text(zh=value["zh"].strip(), en=value["en"].strip())


def _date(data: dict[str, Any], key: str) -> date:
    value = data.get(key)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PolicyError(key, f"{key} is a date (YYYY-MM-DD).", f"{key} 应为日期（YYYY-MM-DD）。")


def _enum(kind: type[StrEnum], value: Any, field: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise PolicyError(field, f"{field} must be one of: {choices}.", f"{field} 的取值应为：{choices}。") from None
