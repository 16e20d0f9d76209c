"""The two evaluation paths agree: random populations × random policies from the batch subset, each
population loaded into a real PostgreSQL, the SQL path's eligible set and amounts compared with the
per-subject Rust CEL path's (≥ 500 generated cases).

Generated expressions cover every construct of the subset (see domain/sql_compiler.py): comparisons on
int, string and timestamp, &&, ||, !, arithmetic with division and modulo by zero, in-lists (empty
ones too), `in` over a list fact, the ternary, startsWith, null comparisons and reads of nullable facts
(which make CEL raise: the criterion fails). Integer sizes are bounded so no intermediate value can
overflow 64 bits (the one documented difference: an overflow aborts the SQL query).
"""

import functools
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
import pytest_asyncio
from entitlements_support import load_rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from carekit.db.engine import sqlalchemy_url
from entitlements.adapters.batch import eligible_population
from entitlements.domain.evaluation import evaluate_population
from entitlements.domain.facts_catalogue import FactsRow
from entitlements.domain.policy import (
    Benefit,
    BenefitKind,
    Criterion,
    JurisdictionBasis,
    Policy,
    Subject,
    Text,
    check_policy,
)

MAX = 2**62

INT_FACTS = {"person.age": 130, "person.months_under_3_in_year": 12, "household.children_ever": 5,
             "household.living_children": 5, "household.living_sons": 5, "household.living_daughters": 5}
NULLABLE_INT_FACTS = {"person.disability_grade": 4, "household.youngest_child_age": 130,
                      "household.mother_age": 130, "household.father_age": 130}
BOOL_FACTS = ["person.alive", "person.is_parent", "person.is_child", "household.migrant", "household.only_child",
              "household.single_daughter", "household.two_daughters", "household.bereaved",
              "household.disabled_only_child", "household.low_income", "household.certificate_held",
              "household.mother_alive", "household.father_alive"]
STRING_FACTS = ["person.sex", "person.relation", "household.hukou_type", "household.division_code",
                "household.residence_division_code"]
TIMESTAMP_FACTS = ["person.birth_date"]
NULLABLE_TIMESTAMP_FACTS = ["person.death_date", "household.youngest_child_birth_date"]
STRINGS = ["male", "female", "rural", "urban", "head", "spouse", "child", "other", "360702001001", "360702",
           "3607", "36", "44", "440305001002", "", "农业", "Z", "é", "a\"b"]
DIVISIONS = ["360702001001", "360702002003", "360703001001", "440305001002"]


def cel_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def date_between(start: date, end: date) -> st.SearchStrategy[date]:
    return st.integers(0, (end - start).days).map(lambda days: start + timedelta(days=days))


def pick(names, scopes):  # noqa: ANN001, ANN201
    return [n for n in names if n.split(".")[0] in scopes]


class Gen:
    """Typed CEL expression strategies for a subject's scopes. Integers come with a bound on |value|.

    Strategies are built once per (kind, depth) and cached: building them afresh on every draw is
    exponential in the depth."""

    def __init__(self, scopes: tuple[str, ...]) -> None:
        self.scopes = scopes
        self.ints = functools.cache(self._ints)  # type: ignore[method-assign]
        self.strings = functools.cache(self._strings)  # type: ignore[method-assign]
        self.bools = functools.cache(self._bools)  # type: ignore[method-assign]
        self.timestamps = functools.cache(self._timestamps)  # type: ignore[method-assign]

    def _ints(self, depth: int, nullable_ok: bool = True) -> st.SearchStrategy[tuple[str, int]]:
        facts = pick(INT_FACTS, self.scopes)
        leaves = [st.integers(-60, 60).map(lambda v: (f"({v})" if v < 0 else str(v), abs(v))),
                  st.sampled_from([0, 1, 3, 12, 100, 17000, 30000, 96000]).map(lambda v: (str(v), v))]
        if facts:
            leaves.append(st.sampled_from(facts).map(lambda n: (n, INT_FACTS[n])))
        nullable = pick(NULLABLE_INT_FACTS, self.scopes)
        if nullable_ok and nullable:
            leaves.append(st.sampled_from(nullable).map(lambda n: (n, NULLABLE_INT_FACTS[n])))
        leaf = st.one_of(*leaves)
        if depth <= 0:
            return leaf
        sub = self.ints(depth - 1)

        def arith(op: str, a: tuple[str, int], b: tuple[str, int]) -> tuple[str, int]:
            bound = {"+": a[1] + b[1], "-": a[1] + b[1], "*": a[1] * b[1], "/": a[1], "%": a[1]}[op]
            return f"({a[0]} {op} {b[0]})", bound

        composite = st.one_of(
            st.builds(arith, st.sampled_from(["+", "-", "*", "/", "%"]), sub, sub),
            sub.map(lambda a: (f"(-{a[0]})", a[1])),
            st.builds(lambda c, a, b: (f"({c} ? {a[0]} : {b[0]})", max(a[1], b[1])),
                      self.bools(depth - 1), self.ints(depth - 1, False), self.ints(depth - 1, False)),
        )
        return st.one_of(leaf, composite).filter(lambda tb: tb[1] < MAX)

    def _strings(self, depth: int) -> st.SearchStrategy[str]:
        leaves = [st.sampled_from(STRINGS).map(cel_string)]
        facts = pick(STRING_FACTS, self.scopes)
        if facts:
            leaves.append(st.sampled_from(facts))
        leaf = st.one_of(*leaves)
        if depth <= 0:
            return leaf
        return st.one_of(leaf, st.builds(lambda c, a, b: f"({c} ? {a} : {b})", self.bools(depth - 1),
                                         self.strings(depth - 1), self.strings(depth - 1)))

    def _timestamps(self, nullable_ok: bool) -> st.SearchStrategy[str]:
        literal = date_between(date(1920, 1, 1), date(2032, 12, 31)).map(
            lambda d: f'timestamp("{d.isoformat()}T00:00:00Z")')
        facts = pick(TIMESTAMP_FACTS, self.scopes)
        if nullable_ok:
            facts += pick(NULLABLE_TIMESTAMP_FACTS, self.scopes)
        return st.one_of(literal, st.sampled_from(facts)) if facts else literal

    def _bools(self, depth: int) -> st.SearchStrategy[str]:
        leaves = [st.sampled_from(["true", "false"])]
        facts = pick(BOOL_FACTS, self.scopes)
        if facts:
            leaves.append(st.sampled_from(facts))
        leaf = st.one_of(*leaves)
        nullables = pick(NULLABLE_INT_FACTS, self.scopes) + pick(NULLABLE_TIMESTAMP_FACTS, self.scopes)
        d = max(depth - 1, 0)
        ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
        tests = [
            st.builds(lambda a, op, b: f"({a[0]} {op} {b[0]})", self.ints(d), ops, self.ints(d)),
            st.builds(lambda a, op, b: f"({a} {op} {b})", self.strings(d), ops, self.strings(d)),
            st.builds(lambda a, op, b: f"({a} {op} {b})", self.timestamps(True), ops, self.timestamps(True)),
            st.builds(lambda a, items: f"({a[0]} in [{', '.join(str(i) for i in items)}])", self.ints(d),
                      st.lists(st.integers(-3, 70), max_size=4)),
            st.builds(lambda a, items: f"({a} in [{', '.join(cel_string(i) for i in items)}])", self.strings(d),
                      st.lists(st.sampled_from(STRINGS), max_size=3)),
            st.builds(lambda a, b: f"{a}.startsWith({b})", self.strings(d), self.strings(d)),
        ]
        if "household" in self.scopes:
            tests.append(st.builds(lambda a: f"({a} in household.low_income_kinds)",
                                   st.one_of(st.sampled_from(["dibao", "tekun", "x"]).map(cel_string),
                                             self.strings(d))))
        if nullables:
            tests.append(st.builds(lambda n, op: f"({n} {op} null)", st.sampled_from(nullables),
                                   st.sampled_from(["==", "!="])))
            tests.append(st.builds(lambda n, op, b: f"({n} {op} {b[0]})",
                                   st.sampled_from(pick(NULLABLE_INT_FACTS, self.scopes) or ["1"]),
                                   st.sampled_from(["==", "!="]), self.ints(d)))
        if depth <= 0:
            return st.one_of(leaf, *tests)
        sub = self.bools(depth - 1)
        return st.one_of(
            leaf, *tests,
            st.builds(lambda a, op, b: f"({a} {op} {b})", sub, st.sampled_from(["&&", "||"]), sub),
            sub.map(lambda a: f"!{a}" if a.startswith("(") else f"!({a})"),
            st.builds(lambda c, a, b: f"({c} ? {a} : {b})", sub, sub, sub),
            st.builds(lambda a, op, b: f"({a} {op} {b})", sub, st.sampled_from(["==", "!="]), sub),
        )


GENERATORS = {Subject.PERSON: Gen(("person", "household")), Subject.HOUSEHOLD: Gen(("household",))}


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    subject = draw(st.sampled_from([Subject.PERSON, Subject.HOUSEHOLD]))
    gen = GENERATORS[subject]
    # Random tests are mostly false (`x in [..]`, string equality); negating half of the criteria
    # evens that out so that more subjects come out eligible.
    criteria = tuple(Criterion(expr=(f"!({expr})" if draw(st.booleans()) else expr),
                               label=Text(f"条件{i}", f"criterion {i}"))
                     for i in range(draw(st.integers(1, 2)))
                     for expr in [draw(gen.bools(draw(st.integers(0, 3))))])
    # Half the amounts are a plain literal or fact, so that more subjects come out eligible.
    plain = st.sampled_from(["0", "100", "30000", *pick(INT_FACTS, gen.scopes)])
    amount = draw(st.one_of(plain, gen.ints(draw(st.integers(0, 2))).map(lambda tb: tb[0])))
    return Policy(
        code="generated", version=1, name=Text("生成的政策", "generated policy"), legal_basis="test",
        jurisdiction=draw(st.sampled_from(["", "", "", "36", "3607", "360702", "360702001", "44"])),
        jurisdiction_basis=draw(st.sampled_from(list(JurisdictionBasis))),
        effective_from=date(2000, 1, 1), subject=subject, criteria=criteria,
        benefit=Benefit(kind=BenefitKind.CASH_YEARLY, amount=amount, fund="TEST"),
    )


OPTIONAL_DATE = st.one_of(st.none(), date_between(date(1920, 1, 1), date(2032, 12, 31)))


@st.composite
def populations(draw: st.DrawFn) -> list[FactsRow]:
    rows: list[FactsRow] = []
    for h in range(draw(st.integers(1, 8))):
        division = draw(st.sampled_from(DIVISIONS))
        household = dict(
            household_id=f"00000000-0000-4000-8000-{h:012d}",
            division_code=division,
            residence_division_code=draw(st.one_of(st.none(), st.sampled_from(DIVISIONS))),
            household_facts_as_of=draw(st.sampled_from([None, date(2024, 1, 1), date(2024, 1, 1), date(2024, 1, 1)])),
            hukou_type=draw(st.sampled_from(["rural", "urban"])),
            low_income_kinds=tuple(draw(st.lists(st.sampled_from(["dibao", "tekun"]), unique=True, max_size=2))),
            children_ever=draw(st.integers(0, 5)), living_children=draw(st.integers(0, 5)),
            living_sons=draw(st.integers(0, 5)), living_daughters=draw(st.integers(0, 5)),
            youngest_child_birth_date=draw(OPTIONAL_DATE),
            mother_birth_date=draw(OPTIONAL_DATE), mother_death_date=draw(OPTIONAL_DATE),
            father_birth_date=draw(OPTIONAL_DATE), father_death_date=draw(OPTIONAL_DATE),
            **{flag: draw(st.booleans()) for flag in ("migrant", "only_child", "single_daughter", "two_daughters",
                                                      "bereaved", "disabled_only_child", "low_income",
                                                      "certificate_held")},
        )
        household["low_income"] = bool(household["low_income_kinds"])
        for p in range(draw(st.integers(1, 5))):
            birth = draw(date_between(date(1920, 1, 1), date(2031, 12, 31)))
            death = draw(st.one_of(st.none(), date_between(birth, date(2032, 12, 31))))
            rows.append(FactsRow(
                person_id=f"00000000-0000-4000-9000-{h:06d}{p:06d}", sex=draw(st.sampled_from(["male", "female"])),
                birth_date=birth, death_date=death,
                relation=draw(st.sampled_from(["head", "spouse", "child", "parent", "grandchild", "other"])),
                is_parent=draw(st.booleans()), is_child=draw(st.booleans()),
                disability_grade=draw(st.one_of(st.none(), st.integers(1, 4))), **household))
    return rows


AS_OF = st.one_of(
    date_between(date(2020, 1, 1), date(2031, 12, 31)),
    st.sampled_from([date(2024, 2, 29), date(2025, 2, 28), date(2025, 3, 1), date(2025, 1, 1), date(2026, 12, 31)]),
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def engine(migrated_database) -> AsyncIterator[AsyncEngine]:
    url = await migrated_database("entitlements")
    engine = create_async_engine(sqlalchemy_url(url))
    yield engine
    await engine.dispose()


CASES = {"count": 0, "with_eligible": 0, "eligible_subjects": 0, "decisions": 0}


@settings(max_examples=600, deadline=None, derandomize=False,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
@given(policy=policies(), rows=populations(), as_of=AS_OF)
async def test_sql_and_per_subject_paths_agree(engine: AsyncEngine, policy: Policy, rows: list[FactsRow],
                                               as_of: date) -> None:
    checked = check_policy(policy)  # every generated policy is valid and inside the batch subset
    decisions = evaluate_population(checked, rows, as_of)
    CASES["decisions"] += len(decisions)
    per_subject = {d.subject_id: d.amount for d in decisions if d.eligible}
    async with engine.begin() as conn:
        await load_rows(conn, rows)
        lines = await eligible_population(conn, checked, as_of)
    sql = {line.subject_id: line.amount for line in lines}
    assert len(sql) == len(lines), "one line per subject"
    assert sql == per_subject, ([c.expr for c in policy.criteria], policy.benefit.amount)
    CASES["count"] += 1
    CASES["with_eligible"] += bool(sql)
    CASES["eligible_subjects"] += len(sql)


def test_enough_cases_ran_and_some_were_eligible() -> None:
    """Runs after the property test in this module: ≥ 500 cases, and not all trivially empty."""
    if CASES["count"] == 0:
        pytest.skip("the property test did not run in this session")
    assert CASES["count"] >= 500, CASES
    assert CASES["eligible_subjects"] >= 100 and CASES["with_eligible"] >= 30, CASES
    print(CASES)
