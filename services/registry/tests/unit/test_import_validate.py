"""Preparing checked rows for storage (registry.service.imports.validate): staging text, ids, pinyin."""

import random
import uuid
from datetime import date

from registry_support import resident_id

from registry.domain.facts import household_facts
from registry.domain.import_rows import HouseholdKey, Jurisdiction, read_header
from registry.domain.model import Household, HukouType, ParentLink, ParentRole, Person, Sex
from registry.service.facts import facts_json
from registry.service.imports.validate import (
    HOUSEHOLD_COLUMNS,
    PERSON_COLUMNS,
    JobContext,
    NamePinyin,
    build_checker,
    facts_document,
    pack_rows,
    unpack_rows,
    uuid7_strings,
)
from registry.service.names import initials_of, pinyin_of
from registry.settings import RegistrySettings

HEADER = read_header(["户编号", "区划代码", "户口性质", "姓名", "公民身份号码", "与户主关系", "手机号码",
                      "母亲身份号码", "父亲身份号码"])
JOB = JobContext(HEADER, date(2026, 6, 1), Jurisdiction("360702"))
FATHER = resident_id(date(1970, 5, 1), female=False, serial=3)
MOTHER = resident_id(date(1972, 6, 2), female=True, serial=4)
CHILD = resident_id(date(2001, 7, 3), female=True, serial=5)
ELSEWHERE = resident_id(date(1990, 1, 1), female=True, serial=6)


def checker():  # noqa: ANN201
    return build_checker(RegistrySettings(database_url="postgresql://unused@127.0.0.1:1/none"))


def test_a_chunk_becomes_staging_text_and_errors() -> None:
    rows = [
        (2, ["H1", "360702001001", "农业", "王建国", FATHER, "户主", "13800138000", "", ""]),
        (3, ["H1", "360702001001", "", "李秀英\t", MOTHER, "配偶", "", "", ""]),
        (4, ["H1", "360702001001", "", "王小红", CHILD, "子女", "", MOTHER, FATHER]),
        (5, ["H2", "360702001001", "农业", "赵六", "123", "户主", "", "", ""]),  # bad ID: no household H2
        (6, ["H3", "360702100201", "非农业", "周七", ELSEWHERE, "户主", "", "", ""]),
        (7, ["H3", "360702100201", "", "周小", resident_id(date(2015, 1, 1), female=False, serial=7), "子女", "",
             CHILD, ""]),  # his mother is in H1: H1's facts depend on him
    ]
    result = checker().check(0, rows, JOB)
    assert (result.rows, result.failed_rows, [(e.row, e.column) for e in result.errors]) == (6, [5], [(5, "id_number")])
    households = [line.split("\t") for line in result.households.decode().splitlines()]
    persons = [line.split("\t") for line in result.persons.decode().splitlines()]
    assert all(len(h) == len(HOUSEHOLD_COLUMNS) for h in households) and len(households) == 2
    assert all(len(p) == len(PERSON_COLUMNS) for p in persons) and len(persons) == 5
    h1, h3 = (dict(zip(HOUSEHOLD_COLUMNS, h, strict=True)) for h in households)
    assert (h1["external_ref"], h1["members"], h1["contained"], h1["facts"]) == ("H1", "3", "f", "\\N")
    # 周小's mother is in H1, so H3 has no children of its own
    assert (h3["external_ref"], h3["contained"]) == ("H3", "t") and '"children_ever":0' in h3["facts"]
    spouse = dict(zip(PERSON_COLUMNS, persons[1], strict=True))
    assert spouse["name"] == "李秀英\\t" or spouse["name"] == "李秀英"  # COPY-escaped if a tab survives stripping
    head = dict(zip(PERSON_COLUMNS, persons[0], strict=True))
    assert head["phone_cipher"].startswith("\\\\x") and head["id_index"] and head["entry_kind"] == "birth"
    assert head["name_pinyin"] == "wang jian guo" and head["name_initials"] == "wjg"
    assert FATHER not in result.persons.decode() and "13800138000" not in result.persons.decode()
    assert result.needs_earlier is False
    assert [row for row, _ in result.person_indexes] == [2, 3, 4, 6, 7]


def test_a_parent_outside_the_chunk_makes_it_wait_for_earlier_chunks() -> None:
    rows = [(9, ["H9", "360702001001", "农业", "孙后", CHILD, "户主", "", MOTHER, ""])]
    assert checker().check(3, rows, JOB).needs_earlier is True
    continued = checker().check(4, [(10, ["H1", "360702001001", "", "王二", ELSEWHERE, "子女", "", "", ""])], JOB,
                                frozenset({HouseholdKey("360702001001", "H1")}))
    assert continued.errors == [] and continued.needs_earlier is True


def test_facts_document_is_facts_json() -> None:
    household = Household("h", "360702001001", HukouType.RURAL, ("a", "b"), ("a", "b", "c"), "360702100201")
    persons = [Person("a", Sex.MALE, date(1970, 1, 1)), Person("b", Sex.FEMALE, date(1972, 1, 1)),
               Person("c", Sex.FEMALE, date(2000, 1, 1), parents=(ParentLink("b", ParentRole.MOTHER),))]
    for facts in (household_facts(household, persons, date(2026, 1, 1)),
                  household_facts(household, persons[:2], date(2026, 1, 1))):
        assert facts_document(facts) == facts_json(facts)


def test_pinyin_by_character_equals_the_exact_path() -> None:
    names = NamePinyin()
    r = random.Random(3)
    chars = "王李张刘陈杨长江重庆单曾解朴区仇欧阳司马诸葛乐查伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰行银"
    samples = ["".join(r.choice(chars) for _ in range(r.randint(2, 4))) for _ in range(3000)]
    samples += ["Anna·李", "阿卜杜拉·买买提", "王 小明", "张三", "欧阳锋", "李𠀋"]
    for name in samples:
        assert names(name) == (pinyin_of(name), initials_of(name)), name


def test_rows_travel_packed() -> None:
    rows = [(2, ["a", "", "中文"]), (5, ["b"]), (9, ["", ""])]
    packed = pack_rows(rows)
    assert isinstance(packed[1], str) and unpack_rows(packed) == rows
    odd = [(2, ["a\x1fb", "c"]), (3, ["d\x1e", ""])]
    assert isinstance(pack_rows(odd)[1], list) and unpack_rows(pack_rows(odd)) == odd


def test_fresh_ids_are_time_ordered_version_7_uuids() -> None:
    ids = uuid7_strings(20_000, now_ms=1_795_000_000_123)
    parsed = [uuid.UUID(i) for i in ids]
    assert len(set(ids)) == 20_000 and ids == sorted(ids)
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 and str(u) == i for u, i in zip(parsed, ids, strict=True))
    assert {u.int >> 80 for u in parsed} == {1_795_000_000_123}  # the milliseconds of the call
    later = uuid7_strings(3, now_ms=1_795_000_000_124)
    assert later[0] > ids[-1]
