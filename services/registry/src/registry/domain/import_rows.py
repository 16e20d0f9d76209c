"""Rows of a bulk import file (批量导入): its columns, how a cell is read, and the checks of one row.

Pure: reading files is in `registry.adapters.import_files`, storing in `registry.service.imports`.

The columns (Chinese or English headers, in any order; `*` marks a required column; headers are
matched without surrounding spaces, a leading `*` or case):

  * 户编号 household_ref          the household's number in the exporting system (≤ 64 characters)
  * 区划代码 division_code        12-digit division code of the hukou registration
  * 户口性质 hukou_type           农业/rural or 非农业/urban (also 农业户口, 非农业户口, 城镇)
    住址 address                  ≤ 200 characters
    现居住地区划代码 residence_division_code   where a migrant household lives (流动人口)
  * 姓名 name                     ≤ 64 characters
    公民身份号码 id_number        18-character resident ID (GB 11643)
    性别 sex                      男/女, male/female, M/F
    出生日期 birth_date           2001-02-03, 2001/2/3, 20010203, 2001.2.3 or 2001年2月3日
  * 与户主关系 relation           户主/本人 head, 配偶 spouse, 子女 child, 父母 parent, 孙子女 grandchild,
                                  兄弟姐妹 sibling, 其他 other (and the usual variants: 长子, 次女, 儿媳…)
    手机号码 phone                mainland mobile number
    银行卡号 bank_card            benefit account (一卡通), Luhn-checked
    母亲身份号码 mother_id_number  the mother's resident ID number
    父亲身份号码 father_id_number  the father's resident ID number
    登记日期 registered_on        the day the person entered the household; empty: since birth
  Life events of the person, each recorded as a life event (source "import") dated as given:
    死亡日期 death_date           → death
    残疾等级 disability_grade     1–4 (also 一级…四级, 1级…4级) → disability_assessed, payload grade;
                                  needs 残疾评定日期 disability_assessed_on (the assessment's date)
    光荣证号 certificate_number   独生子女父母光荣证 number (≤ 64 characters) → certificate_issued on the
                                  household (as the API records it); needs 发证日期 certificate_issued_on
    低保类别 low_income_kind      低保/dibao or 特困/tekun → low_income_changed, payload kind, in_force
                                  true; needs 低保起始日期 low_income_since
  A date column without its value column (or the reverse) is an error. The dates are checked like
  the API's `check_life_event`: not before birth, not after today, and none after the death date
  (given on the row or on record). A certificate number another household holds is an error; rows of
  one household may repeat their certificate (it is recorded once).
  Either 公民身份号码, or both 性别 and 出生日期, must be present as columns. A column 序号 (row number of
  the exporting system) is ignored.

Rows of one household share 户编号 within a 区划代码; its household columns are read from its first
row, and a later row that gives a different value is an error. Every row is checked with the same
rules as the API (`check_new_person`, `check_life_event`, the dated division table, the caller's
region); all errors of a row are reported, at most one per column, in English and Chinese. An event
identical (person or household, kind, date, payload) to one already on record is not recorded again,
so re-importing a file changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from registry.domain.divisions import DivisionTable
from registry.domain.errors import FieldError
from registry.domain.facts import HouseholdFacts, household_facts
from registry.domain.history import LifeEventKind, PersonIdentity
from registry.domain.identity import ResidentId, parse_resident_id
from registry.domain.model import (
    DisabilityAssessment,
    HonourCertificate,
    Household,
    HukouType,
    LowIncomeKind,
    LowIncomeSpell,
    ParentLink,
    ParentRole,
    Person,
    Sex,
)
from registry.domain.registration import (
    CheckedPerson,
    NewLifeEvent,
    NewPerson,
    check_life_event,
    check_new_person,
)


class Level(StrEnum):
    HOUSEHOLD = "household"
    PERSON = "person"


@dataclass(frozen=True)
class Column:
    name: str  # the English header, also the column named in the error report
    zh: str  # the Chinese header
    level: Level
    required: bool = False
    aliases: tuple[str, ...] = ()
    max_length: int | None = None


COLUMNS: tuple[Column, ...] = (
    Column("household_ref", "户编号", Level.HOUSEHOLD, True, ("户号", "户编码"), 64),
    Column("division_code", "区划代码", Level.HOUSEHOLD, True, ("行政区划代码", "统计用区划代码", "户籍地区划代码")),
    Column("hukou_type", "户口性质", Level.HOUSEHOLD, True, ("户籍性质", "户口类型", "户口类别")),
    Column("address", "住址", Level.HOUSEHOLD, False, ("地址", "家庭住址", "户籍地址"), 200),
    Column("residence_division_code", "现居住地区划代码", Level.HOUSEHOLD, False, ("居住地区划代码", "现住地区划代码")),
    Column("name", "姓名", Level.PERSON, True, (), 64),
    Column("id_number", "公民身份号码", Level.PERSON, False, ("身份证号码", "身份证号", "公民身份证号码"), 32),
    Column("sex", "性别", Level.PERSON),
    Column("birth_date", "出生日期", Level.PERSON),
    Column("relation", "与户主关系", Level.PERSON, True, ("与户主的关系", "家庭关系")),
    Column("phone", "手机号码", Level.PERSON, False, ("手机号", "联系电话", "联系方式"), 32),
    Column("bank_card", "银行卡号", Level.PERSON, False, ("一卡通账号", "银行账号", "社保卡号"), 32),
    Column("mother_id_number", "母亲身份号码", Level.PERSON, False, ("母亲公民身份号码", "母亲身份证号码"), 32),
    Column("father_id_number", "父亲身份号码", Level.PERSON, False, ("父亲公民身份号码", "父亲身份证号码"), 32),
    Column("registered_on", "登记日期", Level.PERSON, False, ("入户日期", "迁入日期")),
    Column("death_date", "死亡日期", Level.PERSON, False, ("死亡时间", "去世日期")),
    Column("disability_grade", "残疾等级", Level.PERSON, False, ("残疾级别", "残疾人等级")),
    Column("disability_assessed_on", "残疾评定日期", Level.PERSON, False,
           ("残疾等级评定日期", "评残日期", "残疾证发证日期")),
    Column("certificate_number", "光荣证号", Level.PERSON, False,
           ("光荣证编号", "独生子女父母光荣证号", "独生子女父母光荣证编号", "独生子女证号"), 64),
    Column("certificate_issued_on", "发证日期", Level.PERSON, False, ("光荣证发证日期", "领证日期")),
    Column("low_income_kind", "低保类别", Level.PERSON, False, ("低收入类别", "救助类别", "低保类型")),
    Column("low_income_since", "低保起始日期", Level.PERSON, False, ("低保开始日期", "纳入低保日期", "救助起始日期")),
)
BY_NAME = {column.name: column for column in COLUMNS}
IGNORED_HEADERS = frozenset({"序号", "no", "no.", "seq"})
ROW_COLUMN = "row"  # the column named by errors about a whole row (a malformed row, a duplicate)
ROW_COLUMN_ZH = "整行"


def column_zh(name: str) -> str | None:
    """The Chinese header of a column named in the error report."""
    if name == ROW_COLUMN:
        return ROW_COLUMN_ZH
    column = BY_NAME.get(name)
    return column.zh if column else None


def _normalise_header(cell: str) -> str:
    return re.sub(r"\s+", "", cell.replace("\ufeff", "")).lstrip("*＊").lower()


_HEADER_LOOKUP = {
    _normalise_header(text): column.name
    for column in COLUMNS
    for text in (column.name, column.zh, *column.aliases)
}


@dataclass(frozen=True)
class Header:
    """Where each known column is in a row, and how many cells a row should have."""

    positions: dict[str, int]
    width: int

    def has(self, name: str) -> bool:
        return name in self.positions


def read_header(cells: Sequence[str]) -> Header:
    """Map the header row to the known columns, or FieldError (field "file") saying what is wrong."""
    width = len(cells)
    while width and not str(cells[width - 1]).strip():
        width -= 1  # trailing empty header cells (Excel exports often have them)
    positions: dict[str, int] = {}
    unknown: list[str] = []
    for index, cell in enumerate(cells[:width]):
        text = _normalise_header(str(cell))
        if not text or text in IGNORED_HEADERS:
            continue
        name = _HEADER_LOOKUP.get(text)
        if name is None:
            unknown.append(str(cell).strip())
        elif name in positions:
            raise FieldError("file", f"The column {name} appears twice in the header.",
                             f"表头中“{BY_NAME[name].zh}”列重复。")
        else:
            positions[name] = index
    if unknown:
        known = ", ".join(f"{c.zh}/{c.name}" for c in COLUMNS)
        raise FieldError(
            "file",
            f"Unknown column(s) in the header: {', '.join(unknown)}. The known columns are: {known}.",
            f"表头中有无法识别的列：{'、'.join(unknown)}。可用的列为：{known}。",
        )
    missing = [c for c in COLUMNS if c.required and c.name not in positions]
    if missing:
        raise FieldError(
            "file",
            f"The header lacks the required column(s): {', '.join(c.name for c in missing)}.",
            f"表头缺少必需的列：{'、'.join(c.zh for c in missing)}。",
        )
    if "id_number" not in positions and not ("sex" in positions and "birth_date" in positions):
        raise FieldError(
            "file",
            "The header needs the column id_number, or both sex and birth_date.",
            "表头须包含“公民身份号码”列，或同时包含“性别”和“出生日期”列。",
        )
    return Header(positions, width)


# ---------------------------------------------------------------------------------------------
# cells
# ---------------------------------------------------------------------------------------------
_SEX = {"男": Sex.MALE, "male": Sex.MALE, "m": Sex.MALE, "女": Sex.FEMALE, "female": Sex.FEMALE, "f": Sex.FEMALE}
_HUKOU = {
    "农业": HukouType.RURAL, "农业户口": HukouType.RURAL, "农村": HukouType.RURAL, "rural": HukouType.RURAL,
    "非农业": HukouType.URBAN, "非农业户口": HukouType.URBAN, "城镇": HukouType.URBAN, "urban": HukouType.URBAN,
}
_RELATIONS = {
    "head": ("户主", "本人", "户主本人"),
    "spouse": ("配偶", "妻", "妻子", "夫", "丈夫"),
    "child": ("子女", "子", "女", "儿子", "女儿", "长子", "次子", "三子", "长女", "次女", "三女", "独生子",
              "独生女", "养子", "养女", "继子", "继女"),
    "parent": ("父母", "父亲", "母亲", "公公", "婆婆", "岳父", "岳母"),
    "grandchild": ("孙子女", "孙子", "孙女", "外孙子", "外孙女", "外孙"),
    "sibling": ("兄弟姐妹", "兄", "弟", "姐", "妹", "哥哥", "弟弟", "姐姐", "妹妹"),
    "other": ("其他", "儿媳", "女婿", "其他亲属", "非亲属"),
}
_RELATION = {text: relation for relation, texts in _RELATIONS.items() for text in (relation, *texts)}
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


def parse_date(text: str, column: str) -> date:
    match = _DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if match is not None:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise FieldError(column, f"Not a date: {text!r} (write 2001-02-03).", f"日期无效：“{text}”（应写作2001-02-03）。")


def parse_sex(text: str) -> Sex:
    try:
        return _SEX[text.lower()]
    except KeyError:
        raise FieldError("sex", f"Sex must be 男/女 (male/female), not {text!r}.",
                         f"性别应为男或女，而不是“{text}”。") from None


def parse_hukou(text: str) -> HukouType:
    try:
        return _HUKOU[text.lower()]
    except KeyError:
        raise FieldError(
            "hukou_type", f"Hukou type must be 农业/rural or 非农业/urban, not {text!r}.",
            f"户口性质应为农业或非农业，而不是“{text}”。",
        ) from None


def parse_relation(text: str) -> str:
    try:
        return _RELATION[text.lower()]
    except KeyError:
        raise FieldError(
            "relation", f"Unknown relation to the head {text!r} (户主, 配偶, 子女, 父母, 孙子女, 兄弟姐妹, 其他).",
            f"与户主关系“{text}”无法识别（可填：户主、配偶、子女、父母、孙子女、兄弟姐妹、其他）。",
        ) from None


_GRADE_WORDS = {1: ("一", "壹"), 2: ("二", "贰"), 3: ("三", "叁"), 4: ("四", "肆")}
_GRADE = {text: grade for grade, words in _GRADE_WORDS.items()
          for word in (str(grade), *words) for text in (word, f"{word}级")}
_LOW_INCOME = {
    "低保": LowIncomeKind.DIBAO, "dibao": LowIncomeKind.DIBAO, "最低生活保障": LowIncomeKind.DIBAO,
    "城市低保": LowIncomeKind.DIBAO, "农村低保": LowIncomeKind.DIBAO, "城乡低保": LowIncomeKind.DIBAO,
    "特困": LowIncomeKind.TEKUN, "tekun": LowIncomeKind.TEKUN, "特困供养": LowIncomeKind.TEKUN,
    "特困人员": LowIncomeKind.TEKUN, "特困人员救助供养": LowIncomeKind.TEKUN, "五保": LowIncomeKind.TEKUN,
}


def parse_disability_grade(text: str) -> int:
    try:
        return _GRADE[text.strip().lower().removeprefix("grade").strip()]
    except KeyError:
        raise FieldError("disability_grade", f"The disability grade is 1 to 4 (一级…四级), not {text!r}.",
                         f"残疾等级应为1至4级（一级至四级），而不是“{text}”。") from None


def parse_low_income_kind(text: str) -> LowIncomeKind:
    try:
        return _LOW_INCOME[text.lower()]
    except KeyError:
        raise FieldError("low_income_kind", f"Low-income kind must be 低保/dibao or 特困/tekun, not {text!r}.",
                         f"低保类别应为低保或特困，而不是“{text}”。") from None


# ---------------------------------------------------------------------------------------------
# rows
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str
    message_zh: str


class RowErrors(Exception):
    """The errors of one row, at most one per column."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(f"row {e.row} {e.column}: {e.message}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class Jurisdiction:
    """The uploader's area (`registry.domain.jurisdiction.area_of`); `everywhere` for a service token
    without a region."""

    region: str | None
    everywhere: bool = False

    def covers(self, division_code: str) -> bool:
        # the same rule as registry.domain.jurisdiction.covers
        return self.everywhere or (bool(self.region) and division_code.startswith(self.region or ""))


@dataclass(frozen=True)
class HouseholdKey:
    division_code: str
    household_ref: str


@dataclass(frozen=True)
class HouseholdFields:
    division_code: str
    household_ref: str
    hukou_type: HukouType | None  # None only for a household continued from an earlier part of the file
    address: str
    residence_division_code: str | None


@dataclass(frozen=True)
class ImportedEvent:
    """A life event given on a row: `payload` as `check_life_event` returns it (what is stored)."""

    kind: LifeEventKind
    effective_date: date
    payload: dict
    on_household: bool = False  # recorded on the household (a certificate), as the API does


@dataclass(frozen=True)
class ImportedPerson:
    row: int
    checked: CheckedPerson
    mother: ResidentId | None
    father: ResidentId | None
    registered_on: date | None  # None: in the household since birth
    events: tuple[ImportedEvent, ...] = ()


@dataclass(frozen=True)
class RowContext:
    today: date
    divisions: DivisionTable
    jurisdiction: Jurisdiction


def row_cells(cells: Sequence[str], header: Header, row: int) -> dict[str, str]:
    """The known columns' cells of a row (stripped), or RowErrors for a malformed row."""
    width = len(cells)
    while width > header.width and not cells[width - 1].strip():
        width -= 1  # trailing empty cells beyond the header
    if width != header.width:
        raise RowErrors([RowError(
            row, ROW_COLUMN, f"The row has {width} cells; the header has {header.width}.",
            f"该行有{width}个单元格，表头有{header.width}列。")])
    return {name: cells[index].strip() for name, index in header.positions.items()}


def household_key(values: dict[str, str]) -> HouseholdKey:
    return HouseholdKey(values.get("division_code", ""), values.get("household_ref", ""))


def check_household(values: dict[str, str], context: RowContext, *, continued: bool = False) -> HouseholdFields:
    """The household columns of a row (its household's first row), checked like `register_household`.

    `continued`: the household's number came earlier in the file, before other households; its rows
    here join the household stored then, and may leave 户口性质 empty.
    """
    errors: dict[str, FieldError] = {}
    ref = values.get("household_ref", "")
    if not ref:
        errors["household_ref"] = FieldError("household_ref", "The household number is required.", "户编号不能为空。")
    elif len(ref) > 64:
        errors["household_ref"] = FieldError("household_ref", "A household number has at most 64 characters.",
                                             "户编号最多64个字符。")
    code = values.get("division_code", "")
    try:
        context.divisions.require(code, context.today)
        if not context.jurisdiction.covers(code):
            raise FieldError("division_code", "This division is outside your region.", "该区划不在您的辖区内。")
    except FieldError as exc:
        errors["division_code"] = _at("division_code", exc)
    hukou: HukouType | None = None
    try:
        if values.get("hukou_type") or not continued:
            hukou = parse_hukou(_required(values, "hukou_type"))
    except FieldError as exc:
        errors["hukou_type"] = exc
    residence = values.get("residence_division_code") or None
    if residence is not None:
        try:
            context.divisions.require(residence, context.today, "residence_division_code")
        except FieldError as exc:
            errors["residence_division_code"] = exc
    address = values.get("address", "")
    if len(address) > 200:
        errors["address"] = FieldError("address", "An address has at most 200 characters.", "住址最多200个字符。")
    if errors:
        raise _row_errors(errors)
    return HouseholdFields(code, ref, hukou, address, residence)


def check_same_household(values: dict[str, str], first: HouseholdFields) -> None:
    """A later row of a household may leave its household columns empty, or repeat the first row's."""
    given = {
        "hukou_type": first.hukou_type, "address": first.address,
        "residence_division_code": first.residence_division_code or "",
    }
    errors: dict[str, FieldError] = {}
    for name, expected in given.items():
        text = values.get(name, "")
        if not text or expected is None:
            continue
        same = parse_hukou(text) is expected if name == "hukou_type" and text.lower() in _HUKOU else text == expected
        if not same:
            zh = BY_NAME[name].zh
            errors[name] = FieldError(
                name, f"Differs from the first row of this household ({expected or 'empty'}).",
                f"与本户第一行的{zh}不一致（{expected or '空'}）。")
    if errors:
        raise _row_errors(errors)


def check_person(values: dict[str, str], row: int, context: RowContext,
                 parents: dict[str, ResidentId] | None = None) -> ImportedPerson:
    """The person columns of a row, checked with `check_new_person` like `register_person`.

    A parent is named by their resident ID number: its sex and birth date are read from the number
    (they agree with the registered person's, as registration checks that), so "the mother is a
    woman" and "a child is younger than its parents" are checked here; whether that person exists
    is checked when the row is stored. `parents` caches parsed parent numbers.
    """
    errors: dict[str, FieldError] = {}
    for name in ("name", "id_number", "phone", "bank_card", "mother_id_number", "father_id_number",
                 "certificate_number"):
        limit = BY_NAME[name].max_length
        if limit and len(values.get(name, "")) > limit:
            errors[name] = FieldError(name, f"At most {limit} characters.", f"最多{limit}个字符。")
    relation = sex = birth_date = registered_on = None
    try:
        relation = parse_relation(_required(values, "relation"))
    except FieldError as exc:
        errors["relation"] = exc
    if values.get("sex"):
        try:
            sex = parse_sex(values["sex"])
        except FieldError as exc:
            errors["sex"] = exc
    if values.get("birth_date"):
        try:
            birth_date = parse_date(values["birth_date"], "birth_date")
        except FieldError as exc:
            errors["birth_date"] = exc
    if values.get("registered_on"):
        try:
            registered_on = parse_date(values["registered_on"], "registered_on")
        except FieldError as exc:
            errors["registered_on"] = exc
    links: dict[str, ResidentId | None] = {}
    for role in ("mother", "father"):
        column = f"{role}_id_number"
        links[role] = None
        if values.get(column) and column not in errors:
            try:
                links[role] = _parent_id(values[column], column, parents)
            except FieldError as exc:
                errors[column] = exc
    if not values.get("name"):
        errors["name"] = FieldError("name", "A name is required.", "姓名不能为空。")
    given = _given_events(values, errors)
    if errors.keys() & _PERSON_INPUTS:
        raise _row_errors(errors, row)
    assert relation is not None
    try:
        checked = check_new_person(NewPerson(
            name=values["name"], relation=relation, id_number=values.get("id_number") or None, sex=sex,
            birth_date=birth_date, phone=values.get("phone") or None, bank_card=values.get("bank_card") or None,
            mother=_identity(links["mother"]), father=_identity(links["father"]),
        ), context.today)
    except FieldError as exc:
        errors[exc.field] = exc
        raise _row_errors(errors, row) from None
    if registered_on is not None and not checked.birth_date <= registered_on <= context.today:
        errors["registered_on"] = FieldError("registered_on", "The registration date must lie between birth and today.",
                                             "登记日期应在出生日期与今天之间。")
    for role in ("mother", "father"):
        link = links[role]
        if link is not None and checked.resident_id is not None and link.number == checked.resident_id.number:
            errors[f"{role}_id_number"] = FieldError(f"{role}_id_number", "A person cannot be their own parent.",
                                                     "本人不能是自己的父母。")
    events = _checked_events(given, checked, context.today, errors)
    if errors:
        raise _row_errors(errors, row)
    return ImportedPerson(row, checked, links["mother"], links["father"], registered_on, events)


@dataclass(frozen=True)
class _GivenEvent:
    date_column: str
    value_column: str | None  # the column of its value (grade, number, kind); None for a death
    event: NewLifeEvent


# kind, its date column, its value column (None: the date alone is the event)
_EVENT_COLUMNS = (
    (LifeEventKind.DEATH, "death_date", None),
    (LifeEventKind.DISABILITY_ASSESSED, "disability_assessed_on", "disability_grade"),
    (LifeEventKind.CERTIFICATE_ISSUED, "certificate_issued_on", "certificate_number"),
    (LifeEventKind.LOW_INCOME_CHANGED, "low_income_since", "low_income_kind"),
)


def _given_events(values: dict[str, str], errors: dict[str, FieldError]) -> list[_GivenEvent]:
    """The life events a row gives, read but not yet checked against the person (errors collected)."""
    given = []
    for kind, date_column, value_column in _EVENT_COLUMNS:
        day_text = values.get(date_column, "")
        value_text = values.get(value_column, "") if value_column else ""
        if value_column and bool(day_text) != bool(value_text):
            missing = date_column if value_text else value_column
            other = value_column if value_text else date_column
            errors[missing] = FieldError(
                missing, f"{missing} is required when {other} is given.",
                f"填写了“{BY_NAME[other].zh}”时，“{BY_NAME[missing].zh}”不能为空。")
            continue
        if not day_text:
            continue
        day = payload = None
        try:
            day = parse_date(day_text, date_column)
        except FieldError as exc:
            errors[date_column] = exc
        try:
            payload = _event_payload(kind, value_text)
        except FieldError as exc:
            errors[exc.field] = exc
        if day is None or payload is None:
            continue
        given.append(_GivenEvent(date_column, value_column, NewLifeEvent(kind, day, payload)))
    return given


def _event_payload(kind: LifeEventKind, text: str) -> dict:
    """The payload `check_life_event` expects for the kind, from the value column's cell."""
    if kind is LifeEventKind.DISABILITY_ASSESSED:
        return {"grade": parse_disability_grade(text)}
    if kind is LifeEventKind.LOW_INCOME_CHANGED:
        return {"low_income_kind": parse_low_income_kind(text).value, "in_force": True}
    if kind is LifeEventKind.CERTIFICATE_ISSUED:
        return {"certificate_number": text}
    return {}


def _checked_events(given: list[_GivenEvent], checked: CheckedPerson, today: date,
                    errors: dict[str, FieldError]) -> tuple[ImportedEvent, ...]:
    """`check_life_event` of each event against the person: not before birth, not after today, and
    (for the others) not after the death date given on the row."""
    subject = PersonIdentity(id="", sex=checked.sex, birth_date=checked.birth_date, relation=checked.relation)
    deaths = [g.event.effective_date for g in given if g.event.kind is LifeEventKind.DEATH]
    death_date = deaths[0] if deaths else None
    events = []
    for item in given:
        event = item.event
        try:
            payload = check_life_event(event, subject=subject, today=today,
                                       death_date=None if event.kind is LifeEventKind.DEATH else death_date)
        except FieldError as exc:
            column = item.date_column if exc.field == "effective_date" else (item.value_column or item.date_column)
            errors.setdefault(column, _at(column, exc))
            continue
        events.append(ImportedEvent(event.kind, event.effective_date, payload,
                                    on_household=event.kind is LifeEventKind.CERTIFICATE_ISSUED))
    return tuple(events)


# The cells `check_new_person` reads: when one of them is bad the person cannot be checked further.
_PERSON_INPUTS = frozenset({"name", "relation", "id_number", "sex", "birth_date", "phone", "bank_card",
                            "mother_id_number", "father_id_number"})


def _parent_id(text: str, column: str, cache: dict[str, ResidentId] | None) -> ResidentId:
    if cache is not None and (found := cache.get(text)) is not None:
        return found
    try:
        parsed = parse_resident_id(text)
    except FieldError as exc:
        raise _at(column, exc) from None
    if cache is not None:
        cache[text] = parsed
    return parsed


def _identity(resident_id: ResidentId | None) -> PersonIdentity | None:
    if resident_id is None:
        return None
    return PersonIdentity(id=resident_id.number, sex=resident_id.sex, birth_date=resident_id.birth_date, relation="")


def _required(values: dict[str, str], name: str) -> str:
    text = values.get(name, "")
    if not text:
        column = BY_NAME[name]
        raise FieldError(name, f"{column.name} is required.", f"{column.zh}不能为空。")
    return text


# Fields the domain checks name, and the import column they come from.
_FIELD_COLUMN = {"mother_id": "mother_id_number", "father_id": "father_id_number", "parent_ids": ROW_COLUMN}


def _at(column: str, exc: FieldError) -> FieldError:
    return FieldError(column, exc.message, exc.message_zh)


def _column_of(field: str) -> str:
    column = _FIELD_COLUMN.get(field, field)
    return column if column in BY_NAME else ROW_COLUMN


def _row_errors(errors: dict[str, FieldError], row: int = 0) -> RowErrors:
    return RowErrors([RowError(row, _column_of(field), exc.message, exc.message_zh) for field, exc in errors.items()])


def at_row(errors: RowErrors, row: int) -> list[RowError]:
    """The errors with their row number filled in."""
    return [RowError(row, e.column, e.message, e.message_zh) for e in errors.errors]


# ---------------------------------------------------------------------------------------------
# a new household's facts, from its rows alone
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewMember:
    id: str
    person: ImportedPerson


def new_household_facts(household_id: str, fields: HouseholdFields, members: Sequence[NewMember],
                        today: date) -> HouseholdFacts | None:
    """The facts of a household created by an import, when nobody outside it is linked to its members.

    The same as the service computes from stored life events (`facts_of`): every member entered on
    their birth or registration day (both on or before today), so all are members today; the parents
    are the head and the spouse (head first, then in file order, at most two); parent links count
    within the household. None when no member is the head or spouse (the service stores no facts then either).
    """
    by_number = {m.person.checked.resident_id.number: m.id for m in members if m.person.checked.resident_id}
    parents = tuple(m.id for relation in ("head", "spouse") for m in members
                    if m.person.checked.relation == relation)[:2]
    if not parents:
        return None
    persons = []
    certificates: dict[str, date] = {}
    for member in members:
        links = tuple(
            ParentLink(by_number[parent.number], role)
            for parent, role in ((member.person.mother, ParentRole.MOTHER), (member.person.father, ParentRole.FATHER))
            if parent is not None and parent.number in by_number
        )
        events = {e.kind: e for e in member.person.events}
        death = events.get(LifeEventKind.DEATH)
        disability = events.get(LifeEventKind.DISABILITY_ASSESSED)
        low_income = events.get(LifeEventKind.LOW_INCOME_CHANGED)
        certificate = events.get(LifeEventKind.CERTIFICATE_ISSUED)
        if certificate is not None:  # the latest date of a number wins, as when read from stored events
            number = certificate.payload["number"]
            certificates[number] = max(certificate.effective_date, certificates.get(number, certificate.effective_date))
        persons.append(Person(
            id=member.id, sex=member.person.checked.sex, birth_date=member.person.checked.birth_date, parents=links,
            death_date=death.effective_date if death else None,
            disability=(DisabilityAssessment(disability.effective_date, disability.payload["grade"]),)
            if disability else (),
            low_income=(LowIncomeSpell(LowIncomeKind(low_income.payload["kind"]), low_income.effective_date),)
            if low_income else (),
        ))
    assert fields.hukou_type is not None
    household = Household(
        id=household_id, division_code=fields.division_code, hukou_type=fields.hukou_type, parent_ids=parents,
        member_ids=tuple(m.id for m in members), residence_division_code=fields.residence_division_code,
        certificates=tuple(HonourCertificate(n, d) for n, d in sorted(certificates.items(), key=lambda i: i[1])),
    )
    return household_facts(household, persons, today)
