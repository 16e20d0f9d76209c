"""The per-subject path: one person (or household) against one policy, with the Rust-backed CEL runtime
(`common-expression-language`), explained criterion by criterion in Chinese and English.

Semantics (the SQL path in `sql_compiler` gives the same answers; a property test holds them to it):

* Population: rows whose household facts have arrived, inside the policy's jurisdiction; for a person
  policy, persons born on or before the evaluation date (the dead are in it: `person.alive` decides);
  for a household policy, one decision per household.
* Every criterion is evaluated (no short-cut), so the explanation lists each. A criterion holds only
  when it evaluates to `true`; `false`, or an evaluation error (reading a null fact, dividing by zero,
  overflow) makes it fail, the explanation saying it could not be decided.
* The amount formula is evaluated only when all criteria hold. The subject is eligible when it gives a
  non-negative integer; an error, null or a negative value leaves the subject not eligible, with
  `amount_error` saying why.
* The policy's effective dates are the caller's to check (`Policy.in_force_on`).

Explanations: each criterion gives a line such as
    不符合：父亲年龄未满60周岁（58岁）  /  Not met: the father is under 60 (58 years)
built from the criterion's label (or its `unmet` wording when it fails), `{subject}` replaced by who the
subject is (父亲/母亲/本人/本户 — the father/the mother/the person/the household), and the facts it read
with their values for the evaluation date, named and formatted from the catalogue ("年龄58岁",
"独生子女户：是", "女方年龄：无记录"). When the label already names the only fact read, just the value is
shown ("（58岁）").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import cel

from entitlements.domain.facts_catalogue import FACTS, FactsRow, cel_context, fact_values
from entitlements.domain.policy import CheckedPolicy, JurisdictionBasis, Policy, Subject, Text


@dataclass(frozen=True)
class FactReading:
    name: str
    value: Any  # the plain value (dates as date, lists as lists, None for null)
    text_zh: str
    text_en: str


@dataclass(frozen=True)
class CriterionOutcome:
    index: int
    label: Text
    passed: bool
    facts: tuple[FactReading, ...]
    error: str | None  # why it could not be decided (then passed is False)
    text_zh: str
    text_en: str


@dataclass(frozen=True)
class Decision:
    policy_code: str
    policy_version: int
    subject: str  # person or household
    subject_id: str
    household_id: str
    as_of: date
    eligible: bool
    amount: int | None  # in the benefit's unit (fen, points); None when not eligible
    unit: str
    criteria: tuple[CriterionOutcome, ...]
    amount_error: str | None
    summary_zh: str
    summary_en: str


def division_for(policy: Policy, row: FactsRow) -> str:
    if policy.jurisdiction_basis is JurisdictionBasis.RESIDENCE:
        return row.residence_division_code or row.division_code
    return row.division_code


def in_population(policy: Policy, row: FactsRow, as_of: date) -> bool:
    """Whether `row` is evaluated for `policy` on `as_of` (see the module docstring)."""
    if row.household_facts_as_of is None or not policy.covers(division_for(policy, row)):
        return False
    return policy.subject is Subject.HOUSEHOLD or row.birth_date <= as_of


def evaluate(checked: CheckedPolicy, row: FactsRow, as_of: date) -> Decision:
    """The decision for the subject of `row` (the person, or their household for a household policy)."""
    policy = checked.policy
    values = fact_values(row, as_of)
    # One CEL context per subject, holding only the facts this policy reads: converting Python values
    # into the runtime is the cost, running the compiled programs is cheap.
    context = cel.Context(variables=cel_context({name: values[name] for name in checked.facts_read}, policy.scopes))
    noun = _subject_noun(policy, values)
    outcomes = []
    for index, (criterion, expression) in enumerate(zip(policy.criteria, checked.criteria, strict=True)):
        error: str | None = None
        try:
            result = expression.program.execute(context)
            passed = result is True
            if not isinstance(result, bool):
                passed, error = False, f"gave {result!r}, not true or false"
        except Exception as exc:  # noqa: BLE001 - any evaluation error makes the criterion fail
            passed, error = False, _error_text(exc)
        readings = tuple(_reading(name, values[name], noun) for name in expression.facts)
        label = criterion.label if passed or criterion.unmet is None else criterion.unmet
        zh, en = _line(label, noun, readings, passed, error)
        outcomes.append(CriterionOutcome(index, criterion.label, passed, readings, error, zh, en))

    amount: int | None = None
    amount_error: str | None = None
    if all(o.passed for o in outcomes):
        try:
            value = checked.amount.program.execute(context)
        except Exception as exc:  # noqa: BLE001
            value, amount_error = None, _error_text(exc)
        if amount_error is None:
            if value is None:
                amount_error = "the amount formula gave null"
            elif not isinstance(value, int) or isinstance(value, bool):
                amount_error = f"the amount formula gave {value!r}, not an integer"
            elif value < 0:
                amount_error = f"the amount formula gave a negative amount ({value})"
            else:
                amount = value
    eligible = amount is not None
    subject_id = row.person_id if policy.subject is Subject.PERSON else row.household_id
    summary_zh, summary_en = _summary(policy, eligible, amount, outcomes, amount_error)
    return Decision(policy_code=policy.code, policy_version=policy.version, subject=policy.subject.value,
                    subject_id=subject_id, household_id=row.household_id, as_of=as_of, eligible=eligible,
                    amount=amount, unit=policy.benefit.unit, criteria=tuple(outcomes), amount_error=amount_error,
                    summary_zh=summary_zh, summary_en=summary_en)


def holds(checked: CheckedPolicy, row: FactsRow, as_of: date) -> bool:
    """Whether `evaluate(...)` would say eligible, without building the explanation (criteria stop at the
    first that fails): for checks repeated over many days, such as the partners' valid-until date."""
    values = fact_values(row, as_of)
    context = cel.Context(variables=cel_context({name: values[name] for name in checked.facts_read},
                                                checked.policy.scopes))
    try:
        if not all(expression.program.execute(context) is True for expression in checked.criteria):
            return False
        amount = checked.amount.program.execute(context)
    except Exception:  # noqa: BLE001 - an evaluation error fails the criterion, as in evaluate()
        return False
    return isinstance(amount, int) and not isinstance(amount, bool) and amount >= 0


def evaluate_population(checked: CheckedPolicy, rows: Iterable[FactsRow], as_of: date) -> list[Decision]:
    """Every decision for the population in `rows` (one per household for a household policy)."""
    policy = checked.policy
    decisions = []
    seen: set[str] = set()
    for row in rows:
        if not in_population(policy, row, as_of):
            continue
        if policy.subject is Subject.HOUSEHOLD:
            if row.household_id in seen:
                continue
            seen.add(row.household_id)
        decisions.append(evaluate(checked, row, as_of))
    return decisions


# ── wording ──────────────────────────────────────────────────────────────────────────────────────


def _subject_noun(policy: Policy, values: dict[str, Any]) -> Text:
    if policy.subject is Subject.HOUSEHOLD:
        return Text("本户", "the household")
    if values["person.is_parent"] and values["household.children_ever"] > 0:
        return Text("父亲", "the father") if values["person.sex"] == "male" else Text("母亲", "the mother")
    if values["person.is_child"]:
        return Text("子女", "the child")
    return Text("本人", "the person")


def format_value(name: str, value: Any) -> tuple[str, str]:
    """A fact value in words (zh, en), with its unit: ("58岁", "58 years"), ("是", "yes")."""
    fact = FACTS[name]
    if value is None:
        return "无记录", "none on record"
    if isinstance(value, bool):
        return ("是", "yes") if value else ("否", "no")
    if isinstance(value, int):
        return f"{value}{fact.unit_zh}", f"{value} {fact.unit_en}".rstrip()
    if isinstance(value, date):
        return value.isoformat(), value.isoformat()
    if isinstance(value, list | tuple):
        if not value:
            return "无", "none"
        words = [fact.values.get(str(v), (str(v), str(v))) for v in value]
        return "、".join(w[0] for w in words), ", ".join(w[1] for w in words)
    zh, en = fact.values.get(str(value), (str(value), str(value)))
    return zh, en


def _reading(name: str, value: Any, noun: Text) -> FactReading:
    """A fact read, in words: 女方年龄48岁, 父亲年龄47岁 (a person fact is named with whose it is)."""
    fact = FACTS[name]
    zh, en = format_value(name, value)
    short_zh, short_en = fact.short_zh, fact.short_en
    if fact.scope == "person":
        short_zh, short_en = f"{noun.zh}{short_zh}", f"{noun.en}'s {short_en}"
    if isinstance(value, int) and not isinstance(value, bool):
        return FactReading(name, value, f"{short_zh}{zh}", f"{short_en} {en}")
    return FactReading(name, value, f"{short_zh}：{zh}", f"{short_en}: {en}")


def _line(label: Text, noun: Text, readings: tuple[FactReading, ...], passed: bool,
          error: str | None) -> tuple[str, str]:
    text_zh = label.zh.replace("{subject}", noun.zh)
    text_en = label.en.replace("{subject}", noun.en)
    if len(readings) == 1 and FACTS[readings[0].name].short_zh in text_zh:
        facts_zh, facts_en = format_value(readings[0].name, readings[0].value)
    else:
        facts_zh = "；".join(r.text_zh for r in readings)
        facts_en = "; ".join(r.text_en for r in readings)
    if error is not None:
        facts_zh = f"{facts_zh}；无法判断" if facts_zh else "无法判断"
        facts_en = f"{facts_en}; cannot be decided" if facts_en else "cannot be decided"
    zh = f"{'符合' if passed else '不符合'}：{text_zh}" + (f"（{facts_zh}）" if facts_zh else "")
    en = f"{'Met' if passed else 'Not met'}: {text_en}" + (f" ({facts_en})" if facts_en else "")
    return zh, en


def format_amount(amount: int, unit: str) -> tuple[str, str]:
    if unit == "fen":
        yuan = f"{amount // 100}.{amount % 100:02d}"
        return f"{yuan}元", f"{yuan} yuan"
    if unit == "points":
        return f"{amount}分", f"{amount} points"
    return "", ""


def _summary(policy: Policy, eligible: bool, amount: int | None, outcomes: list[CriterionOutcome],
             amount_error: str | None) -> tuple[str, str]:
    if eligible and amount is not None:
        zh_amount, en_amount = format_amount(amount, policy.benefit.unit)
        zh = f"符合「{policy.name.zh}」" + (f"，金额{zh_amount}" if zh_amount else "")
        en = f"Eligible for {policy.name.en}" + (f": {en_amount}" if en_amount else "")
        return zh, en
    failed = sum(not o.passed for o in outcomes)
    if failed:
        return (f"不符合「{policy.name.zh}」：{failed}项条件未满足",
                f"Not eligible for {policy.name.en}: {failed} criteria not met")
    return (f"不符合「{policy.name.zh}」：金额无法计算",
            f"Not eligible for {policy.name.en}: {amount_error or 'the amount could not be computed'}")


def _error_text(exc: Exception) -> str:
    text = str(exc).split(". CEL does not coerce")[0].strip()
    return f"{type(exc).__name__}: {text}"[:200]
