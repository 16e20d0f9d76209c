"""The population path: a policy's criteria and amount formula compiled to ONE SQL query over the
`person_facts` table (PostgreSQL), giving the same decisions as the per-subject path in `evaluation`.

`compile_batch(checked, as_of)` returns SQL text with named bind parameters (`:name`, the style of
SQLAlchemy's `text()`) and their values; executing it lives in `entitlements.adapters.batch`. The
query returns one row per eligible subject: `subject_id`, `household_id`, `division_code`,
`residence_division_code`, `amount`.

Supported CEL subset (anything else is refused at policy creation when the policy is for batch use;
`expressions.batch_problem` says what and where):

* literals: int, bool, string, null; `timestamp('YYYY-MM-DDT00:00:00Z')` (a date at midnight UTC);
* facts of the catalogue (`person.*`, `household.*`);
* comparisons `==  !=  <  <=  >  >=` on int, string (code-point order, as CEL), timestamp; `==`/`!=`
  also on bool and with `null`;
* logic `&&  ||  !`; arithmetic `+  -  *  /  %` and unary `-` on int;
* `x in [literal, …]` and `x in household.low_income_kinds` (a list fact);
* the ternary `c ? a : b` (branches that cannot be null);
* the function `s.startsWith(prefix)`.
Not in the subset: uint, double, bytes, maps, indexing, macros (`exists`, `all`, `map`, …), `has()`,
`size()`, conversions, string or list concatenation, ordering of booleans, and a value that may be
null used where CEL would not compare it (a ternary branch, an operand of `&&`).

How CEL's semantics are kept in SQL:

* CEL errors (no-such-overload on a null operand, division or modulo by zero) become SQL NULL:
  `/` and `%` divide by `NULLIF(divisor, 0)`. CEL's `&&`/`||` absorb errors (`error || true` is true,
  `error && false` is false) exactly as SQL's three-valued AND/OR absorb NULL; `!`, comparisons and
  arithmetic propagate both. A ternary is `CASE WHEN c THEN a WHEN NOT c THEN b END` (an erroring
  condition gives NULL, not the else branch).
* A genuine CEL null (a nullable fact, the `null` literal) is also NULL, so where CEL gives an answer
  for it — `x == null`, `x != 5`, `x in [..]` — the compiler uses `IS [NOT] DISTINCT FROM` and
  `COALESCE(.., FALSE)`, and keeps an error operand an error with a `CASE`. Each compiled node knows
  whether its NULL means "null" or "error" to choose.
* A criterion holds when its SQL `IS TRUE`; the amount is computed only when all hold
  (`CASE WHEN … THEN amount END`) and the subject is eligible when it is non-null and ≥ 0.
* Integers are `bigint` (CEL's int64); string order uses `COLLATE "C"` (code points, as CEL does).
  An integer overflow raises in PostgreSQL and aborts the query, where CEL would fail only that
  subject: loud, never a silent difference (real amount formulas are far from 2⁶³).

Dates for the evaluation date (`:as_of`): ages are `(:as_of_num - birth_ymd) / 10000` where `*_ymd`
are the table's generated yyyymmdd integers (year·10000 + month·100 + day) and `:as_of_num` the same of
the evaluation date: the integer division is exactly the completed-years rule of
`facts_catalogue.age_on` (the month-and-day part differs by less than 10000; 29 February birthdays roll
to 1 March), null when born after `as_of`; alive is "no death date or a
death date after `as_of`"; months under 3 count the months of `as_of`'s year between the birth month
and the month before the third birthday. They are computed once per row in an inner query (fenced with
`OFFSET 0` so PostgreSQL does not inline them into every use).

Household policies take one row per household (`DISTINCT ON (household_id)`; household columns are
the same on every row of a household).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from entitlements.domain.errors import BatchUnsupported
from entitlements.domain.expressions import Binary, Call, Cond, Expression, FactRef, ListLit, Lit, Node, Unary
from entitlements.domain.facts_catalogue import FACTS
from entitlements.domain.policy import CheckedPolicy, JurisdictionBasis, Subject

TABLE = "person_facts"


@dataclass(frozen=True)
class BatchQuery:
    sql: str
    params: dict[str, Any]


def _age(ymd: str) -> str:
    """Completed years from a yyyymmdd integer column (the table's generated `*_ymd` columns)."""
    return (f"CAST(CASE WHEN {ymd} > CAST(:as_of_num AS integer) THEN NULL "
            f"ELSE (CAST(:as_of_num AS integer) - {ymd}) / 10000 END AS bigint)")


def _alive(death: str) -> str:
    return f"({death} IS NULL OR {death} > CAST(:as_of AS date))"


_BIRTH_MONTH = "(CAST(pf.birth_ymd / 10000 * 12 + pf.birth_ymd / 100 % 100 - 1 AS bigint))"

# How each fact is computed from a `person_facts` row (alias pf) for the evaluation date.
FACT_SQL: dict[str, str] = {
    "person.age": _age("pf.birth_ymd"),
    "person.sex": "CAST(pf.sex AS text)",
    "person.alive": _alive("pf.death_date"),
    "person.birth_date": "pf.birth_date",
    "person.death_date": "pf.death_date",
    "person.relation": "CAST(pf.relation AS text)",
    "person.is_parent": "pf.is_parent",
    "person.is_child": "pf.is_child",
    "person.disability_grade": "CAST(pf.disability_grade AS bigint)",
    "person.months_under_3_in_year": (
        f"GREATEST(0, LEAST({_BIRTH_MONTH} + 35, CAST(:as_of_year AS bigint) * 12 + 11) "
        f"- GREATEST({_BIRTH_MONTH}, CAST(:as_of_year AS bigint) * 12) + 1)"),
    "household.hukou_type": "CAST(pf.hukou_type AS text)",
    "household.division_code": "CAST(pf.division_code AS text)",
    "household.residence_division_code": "CAST(COALESCE(pf.residence_division_code, pf.division_code) AS text)",
    "household.migrant": "pf.migrant",
    "household.only_child": "pf.only_child",
    "household.single_daughter": "pf.single_daughter",
    "household.two_daughters": "pf.two_daughters",
    "household.bereaved": "pf.bereaved",
    "household.disabled_only_child": "pf.disabled_only_child",
    "household.low_income": "pf.low_income",
    "household.low_income_kinds": "CAST(pf.low_income_kinds AS text[])",
    "household.certificate_held": "pf.certificate_held",
    "household.children_ever": "CAST(pf.children_ever AS bigint)",
    "household.living_children": "CAST(pf.living_children AS bigint)",
    "household.living_sons": "CAST(pf.living_sons AS bigint)",
    "household.living_daughters": "CAST(pf.living_daughters AS bigint)",
    "household.youngest_child_birth_date": "pf.youngest_child_birth_date",
    "household.youngest_child_age": _age("pf.youngest_child_birth_ymd"),
    "household.mother_age": _age("pf.mother_birth_ymd"),
    "household.mother_alive": f"(pf.mother_birth_date IS NOT NULL AND {_alive('pf.mother_death_date')})",
    "household.father_age": _age("pf.father_birth_ymd"),
    "household.father_alive": f"(pf.father_birth_date IS NOT NULL AND {_alive('pf.father_death_date')})",
}
assert set(FACT_SQL) == set(FACTS), "every catalogue fact has its SQL"  # noqa: S101


def column_alias(fact: str) -> str:
    return "fact_" + fact.replace(".", "__")


@dataclass
class _Compiler:
    expression: Expression
    params: dict[str, Any]
    facts: set[str] = field(default_factory=set)

    def param(self, value: Any, cast: str) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"CAST(:{name} AS {cast})"

    # Each node compiles to (sql, nulls): nulls is None (never NULL), "null" (NULL is a genuine CEL null:
    # nullable facts, the null literal) or "error" (NULL means CEL raised an error).
    def compile(self, node: Node) -> tuple[str, str | None]:  # noqa: C901 - one case per node kind
        if isinstance(node, Lit):
            if node.kind == "int":
                return f"CAST({int(node.value)} AS bigint)", None
            if node.kind == "bool":
                return ("TRUE" if node.value else "FALSE"), None
            if node.kind == "string":
                return self.param(node.value, "text"), None
            if node.kind == "null":
                return "NULL", "null"
        if isinstance(node, FactRef):
            self.facts.add(node.name)
            return f"f.{column_alias(node.name)}", ("null" if FACTS[node.name].nullable else None)
        if isinstance(node, Unary):
            sql, nulls = self.compile(node.operand)
            return (f"(NOT {sql})" if node.op == "!" else f"(-{sql})"), ("error" if nulls else None)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Cond):
            c, cn = self.compile(node.cond)
            a, an = self.compile(node.then)
            b, bn = self.compile(node.otherwise)
            return f"(CASE WHEN {c} THEN {a} WHEN NOT {c} THEN {b} END)", ("error" if cn or an or bn else None)
        if isinstance(node, Call):
            if node.name == "startsWith" and node.target is not None:
                t, tn = self.compile(node.target)
                a, an = self.compile(node.args[0])
                return f"starts_with({t}, {a})", ("error" if tn or an else None)
            if node.name == "timestamp":
                day = date.fromisoformat(str(node.args[0].value)[:10])  # type: ignore[attr-defined]
                return f"DATE '{day.isoformat()}'", None
        raise BatchUnsupported("Outside the batch (SQL) subset.", "超出批量（SQL）可支持的范围。", node.pos)

    def binary(self, node: Binary) -> tuple[str, str | None]:
        op = node.op
        if op == "in":
            return self.member(node)
        a, an = self.compile(node.left)
        b, bn = self.compile(node.right)
        err = "error" if an or bn else None
        if op in ("&&", "||"):
            return f"({a} {'AND' if op == '&&' else 'OR'} {b})", err
        if op in ("==", "!="):
            if an is None and bn is None:
                return f"({a} {'=' if op == '==' else '<>'} {b})", None
            if "null" not in (an, bn):
                return f"({a} {'=' if op == '==' else '<>'} {b})", "error"
            distinct = f"({a} IS {'NOT ' if op == '==' else ''}DISTINCT FROM {b})"
            if "error" not in (an, bn):
                return distinct, None
            erring = a if an == "error" else b
            return f"(CASE WHEN {erring} IS NULL THEN NULL ELSE {distinct} END)", "error"
        if op in ("<", "<=", ">", ">="):
            if self.expression.type_of(node.left).base == "string":
                return f"({a} {op} {b} COLLATE \"C\")", err
            return f"({a} {op} {b})", err
        if op in ("+", "-", "*"):
            return f"({a} {op} {b})", err
        if op in ("/", "%"):
            return f"({a} {op} NULLIF({b}, 0))", "error"
        raise BatchUnsupported(f"Operator {op} is outside the batch subset.", f"运算符 {op} 超出批量支持范围。",
                               node.pos)

    def member(self, node: Binary) -> tuple[str, str | None]:
        a, an = self.compile(node.left)
        if isinstance(node.right, ListLit):
            items = [self.compile(item)[0] for item in node.right.items]
            if not items:
                return (f"(CASE WHEN {a} IS NULL THEN NULL ELSE FALSE END)", "error") \
                    if an == "error" else ("FALSE", None)
            test = f"({a} IN ({', '.join(items)}))"
        else:
            b, _ = self.compile(node.right)
            test = f"({a} = ANY({b}))"
        if an == "null":
            return f"COALESCE({test}, FALSE)", None
        if an == "error":
            return f"(CASE WHEN {a} IS NULL THEN NULL ELSE {test} END)", "error"
        return test, None


def compile_batch(checked: CheckedPolicy, as_of: date, table: str = TABLE, within: str = "") -> BatchQuery:
    """One query giving every eligible subject of `checked` on `as_of` with its amount; `within` (a division
    prefix, matched like the jurisdiction) narrows it to one area, e.g. a county work item of a cycle."""
    if checked.batch_problem is not None:
        raise checked.batch_problem
    policy = checked.policy
    params: dict[str, Any] = {"as_of": as_of, "as_of_num": as_of.year * 10000 + as_of.month * 100 + as_of.day,
                              "as_of_year": as_of.year}
    criteria_sql = []
    used: set[str] = set()
    for expression in checked.criteria:
        compiler = _Compiler(expression, params)
        sql, _ = compiler.compile(expression.ast)
        criteria_sql.append(f"({sql}) IS TRUE")
        used |= compiler.facts
    amount_compiler = _Compiler(checked.amount, params)
    amount_sql, _ = amount_compiler.compile(checked.amount.ast)
    amount_sql = f"CAST({amount_sql} AS bigint)"
    used |= amount_compiler.facts

    household = policy.subject is Subject.HOUSEHOLD
    subject = "pf.household_id" if household else "pf.person_id"
    basis = ("COALESCE(pf.residence_division_code, pf.division_code)"
             if policy.jurisdiction_basis is JurisdictionBasis.RESIDENCE else "pf.division_code")
    where = ["pf.household_facts_as_of IS NOT NULL"]
    if policy.jurisdiction:  # digits only (checked): a LIKE prefix needs no escaping and can use the index
        params["jurisdiction_like"] = policy.jurisdiction + "%"
        where.append(f"{basis} LIKE CAST(:jurisdiction_like AS text)")
    if within and not within.startswith(policy.jurisdiction) and not policy.jurisdiction.startswith(within):
        where.append("FALSE")  # the area and the jurisdiction do not meet
    elif len(within) > len(policy.jurisdiction):
        if not within.isdigit():
            raise ValueError("an area is a division-code prefix")
        params["within_like"] = within + "%"
        where.append(f"{basis} LIKE CAST(:within_like AS text)")
    if not household:
        where.append("pf.birth_date <= CAST(:as_of AS date)")
    derived = "".join(f",\n           {FACT_SQL[name]} AS {column_alias(name)}" for name in sorted(used))
    sql = (
        "SELECT d.subject_id, d.household_id, d.division_code, d.residence_division_code, d.amount\n"
        "FROM (\n"
        "    SELECT f.subject_id, f.household_id, f.division_code, f.residence_division_code,\n"
        f"           CASE WHEN {' AND '.join(criteria_sql)}\n"
        f"                THEN {amount_sql} END AS amount\n"
        "    FROM (\n"
        f"        SELECT {'DISTINCT ON (pf.household_id) ' if household else ''}"
        f"CAST({subject} AS text) AS subject_id, CAST(pf.household_id AS text) AS household_id,\n"
        "           pf.division_code, pf.residence_division_code"
        f"{derived}\n"
        f"        FROM {table} AS pf\n"
        f"        WHERE {' AND '.join(where)}\n"
        f"{'        ORDER BY pf.household_id' + chr(10) if household else ''}"
        "        OFFSET 0\n"
        "    ) AS f\n"
        ") AS d\n"
        "WHERE d.amount IS NOT NULL AND d.amount >= 0"
    )
    return BatchQuery(sql=sql, params=params)
