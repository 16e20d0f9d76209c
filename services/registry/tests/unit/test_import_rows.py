"""Import rows (registry.domain.import_rows): headers, cells, row checks and a new household's facts."""

from datetime import date

import pytest
from registry_support import resident_id

from registry.data import division_csv_text
from registry.domain.divisions import parse_division_csv
from registry.domain.errors import FieldError
from registry.domain.facts import household_facts
from registry.domain.history import (
    HouseholdIdentity,
    LifeEvent,
    LifeEventKind,
    PersonIdentity,
    household_on_record,
    person_on_record,
)
from registry.domain.import_rows import (
    ROW_COLUMN,
    HouseholdFields,
    Jurisdiction,
    NewMember,
    RowContext,
    RowErrors,
    check_household,
    check_person,
    check_same_household,
    column_zh,
    new_household_facts,
    parse_date,
    parse_disability_grade,
    parse_hukou,
    parse_low_income_kind,
    parse_relation,
    parse_sex,
    read_header,
    row_cells,
)
from registry.domain.model import HukouType, LowIncomeKind, Sex

TODAY = date(2026, 6, 1)
CONTEXT = RowContext(TODAY, parse_division_csv(division_csv_text()), Jurisdiction("360702"))
FATHER = resident_id(date(1970, 5, 1), female=False, serial=3)
MOTHER = resident_id(date(1972, 6, 2), female=True, serial=4)
CHILD = resident_id(date(2001, 7, 3), female=True, serial=5)


def person(**values: str) -> dict[str, str]:
    return {"name": "王小红", "relation": "子女", "id_number": CHILD} | values


def household(**values: str) -> dict[str, str]:
    return {"household_ref": "H1", "division_code": "360702001001", "hukou_type": "农业"} | values


def columns(exc: RowErrors) -> list[str]:
    return sorted(e.column for e in exc.errors)


# -- headers ------------------------------------------------------------------------------------
def test_chinese_english_and_alias_headers_map_to_the_same_columns() -> None:
    zh = read_header(["\ufeff序号", "*户编号", "区划代码", "户口性质", "姓名", "身份证号码", "与户主关系", "", ""])
    en = read_header(["household_ref", "Division_Code", "HUKOU_TYPE", "name", "id_number", "relation"])
    assert zh.positions == {"household_ref": 1, "division_code": 2, "hukou_type": 3, "name": 4, "id_number": 5,
                            "relation": 6}
    assert zh.width == 7  # trailing empty header cells are not columns
    assert en.positions == {"household_ref": 0, "division_code": 1, "hukou_type": 2, "name": 3, "id_number": 4,
                            "relation": 5}


@pytest.mark.parametrize(("cells", "words"), [
    (["户编号", "区划代码", "户口性质", "姓名", "与户主关系", "公民身份号码", "民族"], "民族"),
    (["户编号", "区划代码", "户口性质", "姓名", "与户主关系", "公民身份号码", "身份证号"], "twice"),
    (["户编号", "区划代码", "姓名", "与户主关系", "公民身份号码"], "hukou_type"),
    (["户编号", "区划代码", "户口性质", "姓名", "与户主关系", "性别"], "id_number, or both sex and birth_date"),
])
def test_bad_headers_are_refused_with_both_messages(cells: list[str], words: str) -> None:
    with pytest.raises(FieldError) as caught:
        read_header(cells)
    assert caught.value.field == "file" and words in caught.value.message and caught.value.message_zh


def test_a_header_without_id_needs_sex_and_birth_date() -> None:
    header = read_header(["户编号", "区划代码", "户口性质", "姓名", "与户主关系", "性别", "出生日期"])
    assert header.has("sex") and header.has("birth_date") and not header.has("id_number")


def test_column_names_in_chinese() -> None:
    assert column_zh("mother_id_number") == "母亲身份号码"
    assert (column_zh(ROW_COLUMN), column_zh("nonsense")) == ("整行", None)


# -- cells --------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["2001-02-03", "2001/2/3", "20010203", "2001.02.03", "2001年2月3日"])
def test_dates_in_the_usual_spellings(text: str) -> None:
    assert parse_date(text, "birth_date") == date(2001, 2, 3)


@pytest.mark.parametrize("text", ["2001-13-01", "1980-02-30", "03/02/2001", "yesterday", "2001-2"])
def test_bad_dates(text: str) -> None:
    with pytest.raises(FieldError) as caught:
        parse_date(text, "birth_date")
    assert caught.value.field == "birth_date" and "日期" in caught.value.message_zh


def test_sex_hukou_and_relation_words() -> None:
    assert [parse_sex(t) for t in ("男", "F", "female")] == [Sex.MALE, Sex.FEMALE, Sex.FEMALE]
    assert [parse_hukou(t) for t in ("农业", "非农业户口", "Urban")] == [HukouType.RURAL, HukouType.URBAN,
                                                                        HukouType.URBAN]
    assert [parse_relation(t) for t in ("户主", "妻", "长女", "孙子", "兄", "儿媳", "spouse")] == [
        "head", "spouse", "child", "grandchild", "sibling", "other", "spouse"]
    for parse, text in ((parse_sex, "未知"), (parse_hukou, "居民"), (parse_relation, "邻居")):
        with pytest.raises(FieldError):
            parse(text)


def test_a_row_must_have_as_many_cells_as_the_header() -> None:
    header = read_header(["户编号", "区划代码", "户口性质", "姓名", "与户主关系", "公民身份号码"])
    assert row_cells(["H1", "360702001001", "农业", " 王 ", "户主", "x", "", " "], header, 2)["name"] == "王"
    with pytest.raises(RowErrors) as caught:
        row_cells(["H1", "360702001001", "农业", "王"], header, 7)
    assert [(e.row, e.column) for e in caught.value.errors] == [(7, ROW_COLUMN)]


# -- households -----------------------------------------------------------------------------------
def test_household_columns_are_checked_like_the_api() -> None:
    fields = check_household(household(residence_division_code="360702100201", address="一号"), CONTEXT)
    assert fields == HouseholdFields("360702001001", "H1", HukouType.RURAL, "一号", "360702100201")
    with pytest.raises(RowErrors) as caught:
        check_household(household(division_code="360702999999", hukou_type="", residence_division_code="1"), CONTEXT)
    assert columns(caught.value) == ["division_code", "hukou_type", "residence_division_code"]
    with pytest.raises(RowErrors) as retired:
        check_household(household(division_code="360702191002"), CONTEXT)
    assert "retired" in retired.value.errors[0].message


def test_rows_outside_the_region_are_refused() -> None:
    township = RowContext(TODAY, CONTEXT.divisions, Jurisdiction("360702100"))
    with pytest.raises(RowErrors) as caught:
        check_household(household(), township)
    assert "outside your region" in caught.value.errors[0].message
    assert check_household(household(), RowContext(TODAY, CONTEXT.divisions, Jurisdiction(None, everywhere=True)))
    with pytest.raises(RowErrors):
        check_household(household(), RowContext(TODAY, CONTEXT.divisions, Jurisdiction(None)))


def test_a_continued_household_may_leave_its_columns_empty() -> None:
    assert check_household(household(hukou_type=""), CONTEXT, continued=True).hukou_type is None
    first = check_household(household(address="一号"), CONTEXT)
    check_same_household({"hukou_type": "农业户口", "address": ""}, first)
    with pytest.raises(RowErrors) as caught:
        check_same_household({"hukou_type": "非农业", "address": "二号"}, first)
    assert columns(caught.value) == ["address", "hukou_type"]


# -- persons ------------------------------------------------------------------------------------
def test_a_good_person_with_parents() -> None:
    imported = check_person(person(mother_id_number=MOTHER, father_id_number=FATHER, phone="13800138000"), 5, CONTEXT)
    assert imported.checked.sex is Sex.FEMALE and imported.checked.birth_date == date(2001, 7, 3)
    assert imported.mother.number == MOTHER and imported.father.sex is Sex.MALE
    assert imported.checked.phone == "+8613800138000" and imported.registered_on is None


@pytest.mark.parametrize(("values", "column"), [
    ({"id_number": CHILD[:-1] + ("0" if CHILD[-1] != "0" else "1")}, "id_number"),
    ({"birth_date": "2001-07-04"}, "birth_date"),  # disagrees with the ID number
    ({"sex": "男"}, "sex"),  # disagrees with the ID number
    ({"id_number": "", "sex": "女", "birth_date": "2999-01-01"}, "birth_date"),
    ({"id_number": "", "sex": "女"}, "birth_date"),
    ({"phone": "12345"}, "phone"),
    ({"bank_card": "6222020200112233441"}, "bank_card"),
    ({"relation": ""}, "relation"),
    ({"name": ""}, "name"),
    ({"mother_id_number": FATHER}, "mother_id_number"),  # a man
    ({"father_id_number": resident_id(date(2010, 1, 1), female=False, serial=9)}, "father_id_number"),  # younger
    ({"mother_id_number": "123"}, "mother_id_number"),
    ({"mother_id_number": CHILD}, "mother_id_number"),  # herself... and a girl younger than herself
    ({"registered_on": "1999-01-01"}, "registered_on"),  # before birth
])
def test_bad_person_cells_name_their_column(values: dict[str, str], column: str) -> None:
    with pytest.raises(RowErrors) as caught:
        check_person(person(**values), 9, CONTEXT)
    assert [e.column for e in caught.value.errors] == [column]
    assert all(e.message and e.message_zh for e in caught.value.errors)


def test_every_bad_cell_of_a_row_is_reported() -> None:
    with pytest.raises(RowErrors) as caught:
        check_person(person(birth_date="13/13/2001", relation="邻居", sex="?"), 4, CONTEXT)
    assert columns(caught.value) == ["birth_date", "relation", "sex"]


# -- a new household's facts ------------------------------------------------------------------------
def test_new_household_facts_equal_the_facts_from_stored_life_events() -> None:
    members = [
        NewMember("f", check_person(person(id_number=FATHER, relation="户主"), 2, CONTEXT)),
        NewMember("m", check_person(person(id_number=MOTHER, relation="配偶"), 3, CONTEXT)),
        NewMember("c", check_person(person(mother_id_number=MOTHER, father_id_number=FATHER), 4, CONTEXT)),
        NewMember("g", check_person(person(id_number=resident_id(date(1940, 1, 1), female=True, serial=6),
                                           relation="母亲", registered_on="2020-01-01"), 5, CONTEXT)),
    ]
    fields = HouseholdFields("360702001001", "H1", HukouType.URBAN, "", "360702100201")
    fast = new_household_facts("h", fields, members, TODAY)

    identities = [PersonIdentity(m.id, m.person.checked.sex, m.person.checked.birth_date, m.person.checked.relation,
                                 mother_id="m" if m.id == "c" else None, father_id="f" if m.id == "c" else None)
                  for m in members]
    events = [LifeEvent(f"e{m.id}", LifeEventKind.REGISTERED if m.person.registered_on else LifeEventKind.BIRTH,
                        m.person.registered_on or m.person.checked.birth_date, "h", m.id, seq=i)
              for i, m in enumerate(members)]
    events.append(LifeEvent("r", LifeEventKind.RESIDENCE_CHANGED, TODAY, "h", None,
                            {"residence_division_code": "360702100201"}, seq=9))
    stored = household_on_record(HouseholdIdentity("h", "360702001001", HukouType.URBAN, "360702100201"), events,
                                 identities, TODAY)
    slow = household_facts(stored, [person_on_record(i, events) for i in identities], TODAY)
    assert fast == slow
    assert fast.only_child and fast.single_daughter and fast.migrant and [p.person_id for p in fast.parents] == ["f",
                                                                                                                 "m"]


def test_no_facts_without_a_head_or_spouse() -> None:
    members = [NewMember("c", check_person(person(), 2, CONTEXT))]
    assert new_household_facts("h", HouseholdFields("360702001001", "H", HukouType.RURAL, "", None), members,
                               TODAY) is None


# -- life events given on a row -----------------------------------------------------------------
EVENT_HEADER = ["户编号", "区划代码", "户口性质", "姓名", "公民身份号码", "与户主关系", "死亡日期", "残疾等级",
                "残疾评定日期", "光荣证号", "发证日期", "低保类别", "低保起始日期"]


def test_event_columns_have_chinese_english_and_alias_headers() -> None:
    zh = read_header(EVENT_HEADER)
    en = read_header(["household_ref", "division_code", "hukou_type", "name", "id_number", "relation", "death_date",
                      "disability_grade", "disability_assessed_on", "certificate_number", "certificate_issued_on",
                      "low_income_kind", "low_income_since"])
    assert zh.positions == en.positions
    alias = read_header(["户号", "区划代码", "户口性质", "姓名", "身份证号", "与户主关系", "去世日期", "残疾级别",
                         "评残日期", "独生子女父母光荣证号", "领证日期", "救助类别", "纳入低保日期"])
    assert alias.positions == zh.positions
    assert column_zh("disability_grade") == "残疾等级" and column_zh("low_income_since") == "低保起始日期"


@pytest.mark.parametrize(("text", "grade"), [("1", 1), ("二级", 2), ("3级", 3), ("四", 4), ("肆级", 4)])
def test_disability_grades(text: str, grade: int) -> None:
    assert parse_disability_grade(text) == grade


@pytest.mark.parametrize("text", ["5", "0", "五级", "severe", "1.5"])
def test_bad_disability_grades(text: str) -> None:
    with pytest.raises(FieldError) as caught:
        parse_disability_grade(text)
    assert caught.value.field == "disability_grade" and "1 to 4" in caught.value.message and caught.value.message_zh


def test_low_income_kinds() -> None:
    assert {parse_low_income_kind(t) for t in ("低保", "dibao", "DIBAO", "农村低保")} == {LowIncomeKind.DIBAO}
    assert {parse_low_income_kind(t) for t in ("特困", "tekun", "特困供养", "五保")} == {LowIncomeKind.TEKUN}
    with pytest.raises(FieldError) as caught:
        parse_low_income_kind("临时救助")
    assert caught.value.field == "low_income_kind" and "低保" in caught.value.message_zh


def test_a_row_gives_each_kind_of_life_event_with_the_payload_the_api_stores() -> None:
    checked = check_person(person(death_date="2020-01-01", disability_grade="三级", disability_assessed_on="2019/1/1",
                                  certificate_number="GR-1", certificate_issued_on="2005年1月1日",
                                  low_income_kind="特困", low_income_since="20180202"), 2, CONTEXT)
    assert [(e.kind, e.effective_date, e.payload, e.on_household) for e in checked.events] == [
        (LifeEventKind.DEATH, date(2020, 1, 1), {}, False),
        (LifeEventKind.DISABILITY_ASSESSED, date(2019, 1, 1), {"grade": 3}, False),
        (LifeEventKind.CERTIFICATE_ISSUED, date(2005, 1, 1), {"number": "GR-1"}, True),
        (LifeEventKind.LOW_INCOME_CHANGED, date(2018, 2, 2), {"kind": "tekun", "in_force": True}, False),
    ]
    assert check_person(person(), 2, CONTEXT).events == ()


@pytest.mark.parametrize(("values", "column", "words"), [
    ({"disability_grade": "5", "disability_assessed_on": "2010-01-01"}, "disability_grade", "1 to 4"),
    ({"disability_grade": "2"}, "disability_assessed_on", "required"),
    ({"disability_assessed_on": "2010-01-01"}, "disability_grade", "required"),
    ({"certificate_number": "GR-9"}, "certificate_issued_on", "required"),
    ({"certificate_issued_on": "2010-01-01"}, "certificate_number", "required"),
    ({"certificate_number": "N" * 65, "certificate_issued_on": "2010-01-01"}, "certificate_number", "64"),
    ({"low_income_kind": "低保"}, "low_income_since", "required"),
    ({"low_income_kind": "临时", "low_income_since": "2020-01-01"}, "low_income_kind", "dibao"),
    ({"death_date": "2000-01-01"}, "death_date", "before the person's birth"),  # born 2001-07-03
    ({"death_date": "2026-06-02"}, "death_date", "future"),
    ({"death_date": "2026-02-30"}, "death_date", "Not a date"),
    ({"death_date": "2020-01-01", "disability_grade": "1", "disability_assessed_on": "2021-01-01"},
     "disability_assessed_on", "had died"),
    ({"death_date": "2020-01-01", "low_income_kind": "低保", "low_income_since": "2020-01-02"},
     "low_income_since", "had died"),
    ({"low_income_kind": "低保", "low_income_since": "1999-01-01"}, "low_income_since", "before the person's birth"),
])
def test_bad_life_event_cells_name_their_column(values: dict[str, str], column: str, words: str) -> None:
    with pytest.raises(RowErrors) as caught:
        check_person(person(**values), 7, CONTEXT)
    assert columns(caught.value) == [column]
    error = caught.value.errors[0]
    assert error.row == 7 and words in error.message and error.message_zh


def test_every_bad_life_event_cell_of_a_row_is_reported() -> None:
    with pytest.raises(RowErrors) as caught:
        check_person(person(death_date="2000-01-01", low_income_kind="低保", low_income_since="2027-01-01",
                            certificate_number="GR-2", registered_on="1999-01-01"), 3, CONTEXT)
    assert columns(caught.value) == ["certificate_issued_on", "death_date", "low_income_since", "registered_on"]


def test_new_household_facts_with_life_events_equal_the_facts_from_stored_events() -> None:
    members = [
        NewMember("f", check_person(person(id_number=FATHER, relation="户主", certificate_number="GR-7",
                                           certificate_issued_on="2003-01-01", low_income_kind="低保",
                                           low_income_since="2020-05-01"), 2, CONTEXT)),
        NewMember("m", check_person(person(id_number=MOTHER, relation="配偶", certificate_number="GR-7",
                                           certificate_issued_on="2003-01-01"), 3, CONTEXT)),
        NewMember("c", check_person(person(mother_id_number=MOTHER, father_id_number=FATHER, death_date="2024-03-04",
                                           disability_grade="2", disability_assessed_on="2010-01-01"), 4, CONTEXT)),
    ]
    fields = HouseholdFields("360702001001", "H1", HukouType.RURAL, "", None)
    fast = new_household_facts("h", fields, members, TODAY)

    identities = [PersonIdentity(m.id, m.person.checked.sex, m.person.checked.birth_date, m.person.checked.relation,
                                 mother_id="m" if m.id == "c" else None, father_id="f" if m.id == "c" else None)
                  for m in members]
    events = [LifeEvent(f"e{m.id}", LifeEventKind.BIRTH, m.person.checked.birth_date, "h", m.id, seq=i)
              for i, m in enumerate(members)]
    events += [LifeEvent(f"x{m.id}{n}", e.kind, e.effective_date, "h", None if e.on_household else m.id, e.payload,
                         seq=10 + 5 * n + i)
               for i, m in enumerate(members) for n, e in enumerate(m.person.events)]
    stored = household_on_record(HouseholdIdentity("h", "360702001001", HukouType.RURAL), events, identities, TODAY)
    slow = household_facts(stored, [person_on_record(i, events) for i in identities], TODAY)
    assert fast == slow
    assert fast.bereaved and fast.low_income and fast.low_income_kinds == (LowIncomeKind.DIBAO,)
    assert fast.certificate_held and fast.certificate_number == "GR-7"


def test_a_disabled_only_child_in_a_new_household() -> None:
    members = [
        NewMember("f", check_person(person(id_number=FATHER, relation="户主"), 2, CONTEXT)),
        NewMember("c", check_person(person(father_id_number=FATHER, disability_grade="一级",
                                           disability_assessed_on="2015-06-01"), 3, CONTEXT)),
    ]
    facts = new_household_facts("h", HouseholdFields("360702001001", "H2", HukouType.URBAN, "", None), members, TODAY)
    assert facts is not None and facts.disabled_only_child and not facts.bereaved
    assert not facts.low_income and not facts.certificate_held
