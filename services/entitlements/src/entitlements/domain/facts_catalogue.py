"""The facts catalogue: the vocabulary policy authors write criteria and amounts in.

Every policy expression reads facts named `person.<name>` (the subject person, for person policies) and
`household.<name>` (their household, or the subject household). Facts come from one row per person in
the `person_facts` projection (`FactsRow` below mirrors it), filled from the registry's events, and are
evaluated *for an evaluation date* (`as_of`):

* stored facts are read as the registry last reported them (categories such as only-child or bereaved
  are the registry's "today" when it last announced `registry.household.facts_changed`);
* date facts (ages, alive, month counts) are computed from stored birth and death dates for `as_of`,
  in Python here (`fact_values`) and in SQL by the batch compiler; the agreement test holds the two
  to the same answers.

Date rules (shared by both paths):

* age: completed years on `as_of`; a person born on 29 February turns a year older on 1 March in
  common years. Born after `as_of`: no age (null) — such a person is not part of any population yet.
* alive: no death date, or a death date after `as_of` (a death *on* `as_of` has happened).
* months under 3 in the year: the calendar months of `as_of`'s year from the birth month up to and
  excluding the month of the third birthday (so every child has exactly 36 such months in all).

`CATALOGUE` is plain data, served as-is at `GET /v1/facts` (see `catalogue_json`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

# CEL types of the catalogue. `timestamp` facts are dates, given to CEL as midnight UTC.
INT, BOOL, STRING, TIMESTAMP, LIST_STRING = "int", "bool", "string", "timestamp", "list(string)"


@dataclass(frozen=True)
class Fact:
    name: str  # "person.age"
    cel_type: str  # int, bool, string, timestamp, list(string)
    meaning_zh: str
    meaning_en: str
    example: Any
    short_zh: str  # how an explanation names it: "年龄"
    short_en: str  # "age"
    nullable: bool = False  # may be null (no value on record)
    unit_zh: str = ""  # "岁"
    unit_en: str = ""  # "years"
    values: dict[str, tuple[str, str]] = field(default_factory=dict)  # enum value -> (zh, en)
    source: str = ""  # which registry event and field it is projected from
    date_dependent: bool = False  # computed for the evaluation date

    @property
    def scope(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def key(self) -> str:
        return self.name.split(".", 1)[1]

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.cel_type,
            "nullable": self.nullable,
            "meaning": {"zh": self.meaning_zh, "en": self.meaning_en},
            "example": self.example.isoformat() if isinstance(self.example, date) else self.example,
            "label": {"zh": self.short_zh, "en": self.short_en},
            "unit": {"zh": self.unit_zh, "en": self.unit_en} if self.unit_zh or self.unit_en else None,
            "values": {k: {"zh": zh, "en": en} for k, (zh, en) in self.values.items()} or None,
            "source": self.source,
            "date_dependent": self.date_dependent,
        }


SEX_VALUES = {"male": ("男", "male"), "female": ("女", "female")}
HUKOU_VALUES = {"rural": ("农业户口", "rural hukou"), "urban": ("非农业户口", "urban hukou")}
RELATION_VALUES = {
    "head": ("户主", "head"), "spouse": ("配偶", "spouse"), "child": ("子女", "child"),
    "parent": ("父母", "parent"), "grandchild": ("孙子女", "grandchild"), "sibling": ("兄弟姐妹", "sibling"),
    "other": ("其他", "other"),
}
LOW_INCOME_VALUES = {"dibao": ("低保", "minimum living guarantee (dibao)"),
                     "tekun": ("特困", "extreme-hardship support (tekun)")}

_P = "registry.person.registered/updated"
_F = "registry.household.facts_changed → facts"

CATALOGUE: tuple[Fact, ...] = (
    # ── the subject person ────────────────────────────────────────────────────────────────────────
    Fact("person.age", INT, "按出生日期计算到评估日的周岁年龄", "Age in completed years on the evaluation date",
         62, "年龄", "age", unit_zh="岁", unit_en="years", source=f"{_P} → birth_date", date_dependent=True),
    Fact("person.sex", STRING, "性别：male 男 / female 女", "Sex: male or female", "female", "性别", "sex",
         values=SEX_VALUES, source=f"{_P} → sex"),
    Fact("person.alive", BOOL, "评估日在世（评估日当天及以前死亡即为不在世）",
         "Living on the evaluation date (a death on or before that day has happened)", True, "在世", "living",
         source="registry.person.died → death_date", date_dependent=True),
    Fact("person.birth_date", TIMESTAMP, "出生日期", "Date of birth", date(1964, 5, 1), "出生日期", "date of birth",
         source=f"{_P} → birth_date"),
    Fact("person.death_date", TIMESTAMP, "死亡日期；在世者为空", "Date of death; null while living",
         None, "死亡日期", "date of death", nullable=True, source="registry.person.died → death_date"),
    Fact("person.relation", STRING, "与户主关系：head 户主、spouse 配偶、child 子女、parent 父母、grandchild 孙子女、"
         "sibling 兄弟姐妹、other 其他", "Relation to the household head: head, spouse, child, parent, grandchild, "
         "sibling or other", "head", "与户主关系", "relation to the head", values=RELATION_VALUES,
         source=f"{_P} → relation"),
    Fact("person.is_parent", BOOL, "是本户的父母一方（户主或配偶）",
         "One of the household's parents (its head or spouse)",
         True, "本户父母", "a parent of the household", source=f"{_P} → relation (head or spouse)"),
    Fact("person.is_child", BOOL, "是本户父母（户主或配偶）的子女（亲生或收养）",
         "A child (birth or adoptive) of the household's parents (head or spouse)", False, "本户子女",
         "a child of the household", source=f"{_P} → mother_id, father_id"),
    Fact("person.disability_grade", INT, "残疾等级（1–4 级，1 级最重）；未评定为空",
         "Disability grade (1–4, 1 the most severe); null when none is assessed", None, "残疾等级",
         "disability grade", nullable=True, unit_zh="级", unit_en="",
         source="registry.person.disability_changed → grade"),
    Fact("person.months_under_3_in_year", INT, "评估日所在年度内未满3周岁的月数（出生当月计入，满3周岁当月不计入）",
         "Months of the evaluation date's year in which the person is under 3 (the birth month counts, the "
         "month of the third birthday does not)", 9, "当年未满3周岁月数", "months under 3 this year",
         unit_zh="个月", unit_en="months", source=f"{_P} → birth_date", date_dependent=True),
    # ── the household ─────────────────────────────────────────────────────────────────────────────
    Fact("household.hukou_type", STRING, "户籍性质：rural 农业 / urban 非农业", "Hukou type: rural or urban",
         "rural", "户籍性质", "hukou type", values=HUKOU_VALUES, source=f"{_F}.hukou_type"),
    Fact("household.division_code", STRING, "户籍地12位统计区划代码", "12-digit division code of the hukou place",
         "360702001001", "户籍地区划", "hukou division", source="registry.household.* → division_code"),
    Fact("household.residence_division_code", STRING, "现居住地12位区划代码（未登记另住的为户籍地）",
         "12-digit division code where the household lives (the hukou place unless another is recorded)",
         "440305001002", "居住地区划", "residence division", source="registry.household.* → residence_division_code"),
    Fact("household.migrant", BOOL, "流动人口：居住地与户籍地不同", "Migrant: lives away from the hukou place", False,
         "流动人口", "migrant", source=f"{_F}.migrant"),
    Fact("household.only_child", BOOL, "独生子女户：只有过一个子女且该子女在世",
         "Only-child household: exactly one child ever, and living", True, "独生子女户", "only-child household",
         source=f"{_F}.only_child"),
    Fact("household.single_daughter", BOOL, "独女户：独生子女户且子女为女儿", "Single-daughter household", False,
         "独女户", "single-daughter household", source=f"{_F}.single_daughter"),
    Fact("household.two_daughters", BOOL, "二女户：只有过两个子女且均为女儿", "Two-daughter household", False,
         "二女户", "two-daughter household", source=f"{_F}.two_daughters"),
    Fact("household.bereaved", BOOL, "失独家庭：唯一的子女已死亡且现无子女",
         "Bereaved: the only child died, no child now",
         False, "失独家庭", "bereaved family", source=f"{_F}.bereaved"),
    Fact("household.disabled_only_child", BOOL, "独生子女伤残家庭：独生子女残疾等级为1–3级",
         "The only child is disabled, grade 1–3", False, "独生子女伤残家庭", "disabled only child",
         source=f"{_F}.disabled_only_child"),
    Fact("household.low_income", BOOL, "在世成员中有人享受低保或特困供养",
         "A living member is on dibao or tekun", False,
         "低保或特困家庭", "on dibao or tekun", source=f"{_F}.low_income"),
    Fact("household.low_income_kinds", LIST_STRING, "享受的低收入救助种类：dibao 低保、tekun 特困",
         "Kinds of low-income support in force: dibao, tekun", ["dibao"], "救助种类", "support kinds",
         values=LOW_INCOME_VALUES, source=f"{_F}.low_income_kinds"),
    Fact("household.certificate_held", BOOL, "持有《独生子女父母光荣证》",
         "Holds the Only-Child Parents' Honour Certificate",
         True, "持有独生子女父母光荣证", "holds the honour certificate", source=f"{_F}.certificate_held"),
    Fact("household.children_ever", INT, "父母生育或收养过的子女数（含已故）", "Children ever (living or dead)", 1,
         "子女数（含已故）", "children ever", unit_zh="个", unit_en="", source=f"{_F}.children_ever"),
    Fact("household.living_children", INT, "在世子女数", "Living children", 1, "在世子女数", "living children",
         unit_zh="个", unit_en="", source=f"{_F}.living_children"),
    Fact("household.living_sons", INT, "在世儿子数", "Living sons", 0, "在世儿子数", "living sons", unit_zh="个",
         source=f"{_F}.living_sons"),
    Fact("household.living_daughters", INT, "在世女儿数", "Living daughters", 1, "在世女儿数", "living daughters",
         unit_zh="个", source=f"{_F}.living_daughters"),
    Fact("household.youngest_child_birth_date", TIMESTAMP, "最小在世子女的出生日期；无在世子女为空",
         "Birth date of the youngest living child; null without one", date(2012, 8, 20), "最小子女出生日期",
         "youngest child's birth date", nullable=True, source=f"{_F}.youngest_child_birth_date"),
    Fact("household.youngest_child_age", INT, "最小在世子女在评估日的周岁年龄；无在世子女为空",
         "Age of the youngest living child on the evaluation date; null without one", 13, "最小子女年龄",
         "youngest child's age", nullable=True, unit_zh="岁", unit_en="years",
         source=f"{_F}.youngest_child_birth_date", date_dependent=True),
    Fact("household.mother_age", INT, "户内女方（户主或配偶中的女性）按出生日期计算到评估日的周岁年龄，"
         "已故者按其假如在世"
         "的年龄计；无女方为空", "Age on the evaluation date of the household's female parent (head or spouse), "
         "counted from her birth date even after her death; null without one", 50, "女方年龄", "the mother's age",
         nullable=True, unit_zh="岁", unit_en="years", source=f"{_F}.parents + {_P} → birth_date",
         date_dependent=True),
    Fact("household.mother_alive", BOOL, "户内女方在评估日在世（无女方为否）",
         "The household's female parent is living on the evaluation date (false without one)", True, "女方在世",
         "the mother living", source=f"{_F}.parents + registry.person.died", date_dependent=True),
    Fact("household.father_age", INT, "户内男方（户主或配偶中的男性）按出生日期计算到评估日的周岁年龄，"
         "已故者按其假如在世"
         "的年龄计；无男方为空", "Age on the evaluation date of the household's male parent (head or spouse), "
         "counted from his birth date even after his death; null without one", 52, "男方年龄", "the father's age",
         nullable=True, unit_zh="岁", unit_en="years", source=f"{_F}.parents + {_P} → birth_date",
         date_dependent=True),
    Fact("household.father_alive", BOOL, "户内男方在评估日在世（无男方为否）",
         "The household's male parent is living on the evaluation date (false without one)", True, "男方在世",
         "the father living", source=f"{_F}.parents + registry.person.died", date_dependent=True),
)

FACTS: dict[str, Fact] = {fact.name: fact for fact in CATALOGUE}
SCOPES = ("person", "household")


def catalogue_json() -> list[dict[str, Any]]:
    """The catalogue as served at `GET /v1/facts`."""
    return [fact.as_json() for fact in CATALOGUE]


@dataclass(frozen=True)
class FactsRow:
    """One row of the `person_facts` projection: a person with their household's facts.

    Field names are the table's column names. `household_facts_as_of` is None until the registry has
    announced the household's facts; such rows belong to no population.
    """

    person_id: str
    household_id: str
    division_code: str
    sex: str
    birth_date: date
    relation: str
    residence_division_code: str | None = None
    id_number_index: str | None = None
    death_date: date | None = None
    mother_id: str | None = None
    father_id: str | None = None
    is_parent: bool = False
    is_child: bool = False
    disability_grade: int | None = None
    household_facts_as_of: date | None = None
    hukou_type: str = "rural"
    migrant: bool = False
    only_child: bool = False
    single_daughter: bool = False
    two_daughters: bool = False
    bereaved: bool = False
    disabled_only_child: bool = False
    low_income: bool = False
    low_income_kinds: tuple[str, ...] = ()
    certificate_held: bool = False
    children_ever: int = 0
    living_children: int = 0
    living_sons: int = 0
    living_daughters: int = 0
    youngest_child_birth_date: date | None = None
    mother_birth_date: date | None = None
    mother_death_date: date | None = None
    father_birth_date: date | None = None
    father_death_date: date | None = None


# ── date rules (mirrored in SQL by domain/sql_compiler.py) ──────────────────────────────────────────

def age_on(birth: date | None, as_of: date) -> int | None:
    """Completed years on `as_of`; None when unknown or born after `as_of`."""
    if birth is None or birth > as_of:
        return None
    return as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))


def alive_on(death: date | None, as_of: date) -> bool:
    return death is None or death > as_of


def months_under_3_in_year(birth: date, year: int) -> int:
    """Months of `year` from the birth month up to, not including, the month of the third birthday."""
    first = birth.year * 12 + birth.month - 1
    last = first + 35
    return max(0, min(last, year * 12 + 11) - max(first, year * 12) + 1)


def fact_values(row: FactsRow, as_of: date) -> dict[str, Any]:
    """Every catalogue fact of `row` for `as_of`, by name, as plain Python values (dates as `date`)."""
    return {
        "person.age": age_on(row.birth_date, as_of),
        "person.sex": row.sex,
        "person.alive": alive_on(row.death_date, as_of),
        "person.birth_date": row.birth_date,
        "person.death_date": row.death_date,
        "person.relation": row.relation,
        "person.is_parent": row.is_parent,
        "person.is_child": row.is_child,
        "person.disability_grade": row.disability_grade,
        "person.months_under_3_in_year": months_under_3_in_year(row.birth_date, as_of.year),
        "household.hukou_type": row.hukou_type,
        "household.division_code": row.division_code,
        "household.residence_division_code": row.residence_division_code or row.division_code,
        "household.migrant": row.migrant,
        "household.only_child": row.only_child,
        "household.single_daughter": row.single_daughter,
        "household.two_daughters": row.two_daughters,
        "household.bereaved": row.bereaved,
        "household.disabled_only_child": row.disabled_only_child,
        "household.low_income": row.low_income,
        "household.low_income_kinds": list(row.low_income_kinds),
        "household.certificate_held": row.certificate_held,
        "household.children_ever": row.children_ever,
        "household.living_children": row.living_children,
        "household.living_sons": row.living_sons,
        "household.living_daughters": row.living_daughters,
        "household.youngest_child_birth_date": row.youngest_child_birth_date,
        "household.youngest_child_age": age_on(row.youngest_child_birth_date, as_of),
        "household.mother_age": age_on(row.mother_birth_date, as_of),
        "household.mother_alive": row.mother_birth_date is not None and alive_on(row.mother_death_date, as_of),
        "household.father_age": age_on(row.father_birth_date, as_of),
        "household.father_alive": row.father_birth_date is not None and alive_on(row.father_death_date, as_of),
    }


def cel_value(value: Any) -> Any:
    """A fact value as the CEL runtime takes it: dates become timestamps at midnight UTC."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return value


def cel_context(values: dict[str, Any], scopes: tuple[str, ...] = SCOPES) -> dict[str, dict[str, Any]]:
    """Nest dotted fact values into the CEL variables `person` and `household`."""
    context: dict[str, dict[str, Any]] = {scope: {} for scope in scopes}
    for name, value in values.items():
        scope, key = name.split(".", 1)
        if scope in context:
            context[scope][key] = cel_value(value)
    return context
