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
    parse_hukou,
    parse_relation,
    parse_sex,
    read_header,
    row_cells,
)
from registry.domain.model import HukouType, Sex

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
