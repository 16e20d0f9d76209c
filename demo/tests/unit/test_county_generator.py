"""The synthetic county: deterministic, valid identifiers, consistent families, realistic shares."""

from collections import Counter
from datetime import date

import pytest
from stdnum import luhn
from stdnum.cn import ric

from demo.county.divisions import county_townships
from demo.county.families import CountyGenerator
from demo.county.files import write_county
from demo.county.identity import id_region

AS_OF = date(2026, 1, 1)


@pytest.fixture(scope="module")
def townships():
    return county_townships("360702", on=AS_OF)


@pytest.fixture(scope="module")
def county(townships):
    return list(CountyGenerator(seed=7, townships=townships, as_of=AS_OF).households(30_000))


def test_townships_come_from_the_bundled_table(townships):
    assert len(townships) == 17
    assert all(t.code.startswith("360702") and t.code.endswith("000") for t in townships)
    assert any(t.villages for t in townships)  # villages where the table has them


def test_same_seed_same_county(townships):
    first = list(CountyGenerator(seed=3, townships=townships, as_of=AS_OF).households(500))
    again = list(CountyGenerator(seed=3, townships=townships, as_of=AS_OF).households(500))
    other = list(CountyGenerator(seed=4, townships=townships, as_of=AS_OF).households(500))
    assert first == again
    assert first != other


def test_resident_ids_are_valid_unique_and_match_birth_sex_and_region(county):
    people = [p for h in county for p in h.members]
    assert len({p.id_number for p in people}) == len(people)
    for h in county:
        for p in h.members:
            assert ric.is_valid(p.id_number), p.id_number
            assert ric.get_birth_date(p.id_number) == p.birth_date
            assert (int(p.id_number[16]) % 2 == 1) == (p.sex == "男")
            assert p.id_number[:6] == id_region(h.division_code[:6], p.birth_date)


def test_phones_and_bank_cards_pass_their_checks(county):
    for p in (p for h in county for p in h.members):
        assert p.phone is None or (len(p.phone) == 11 and p.phone.startswith("1"))
        assert p.bank_card is None or luhn.is_valid(p.bank_card)


def test_children_are_born_to_mothers_aged_20_to_38_and_before_as_of(county):
    for h in county:
        mothers = {p.id_number: p for p in h.members if p.relation == "配偶"}
        for child in (p for p in h.members if p.relation == "子女"):
            mother = mothers[child.mother_id_number]
            age_at_birth = (child.birth_date - mother.birth_date).days / 365.25
            assert 19.9 <= age_at_birth <= 38.1
            assert child.birth_date <= AS_OF


def test_family_kinds_match_their_members_and_events(county):
    for h in county:
        children = [p for p in h.members if p.relation == "子女"]
        kinds = Counter(e.kind for e in h.events)
        if h.kind == "two_daughters":
            assert [c.sex for c in children] == ["女", "女"]
        if h.kind == "bereaved":
            assert len(children) == 1 and kinds["death"] == 1
            assert next(e for e in h.events if e.kind == "death").id_number == children[0].id_number
        if h.kind == "disabled_only_child":
            grade = next(e for e in h.events if e.kind == "disability_assessed")
            assert grade.payload["grade"] in (1, 2, 3) and grade.id_number == children[0].id_number
        if h.kind in ("single", "elderly_couple", "young_couple"):
            assert not children
        for event in h.events:
            person = next(p for p in h.members if p.id_number == event.id_number)
            assert person.birth_date <= event.effective_date < AS_OF


def test_shares_are_realistic(county):
    kinds = Counter(h.kind for h in county)
    total = len(county)
    assert 0.006 <= kinds["bereaved"] / total <= 0.014
    assert 0.002 <= kinds["disabled_only_child"] / total <= 0.008
    assert 0.2 <= kinds["only_child"] / total <= 0.3
    assert 0.03 <= sum(h.residence_division_code is not None for h in county) / total <= 0.07
    under_three = sum(1 for h in county for p in h.members if (AS_OF - p.birth_date).days < 3 * 365)
    assert under_three > 0


def test_files_hold_every_person_once_and_never_split_a_household(county, tmp_path):
    summary = write_county(iter(county), tmp_path, persons_per_file=5_000, events_in_file=False)
    assert summary.persons == sum(len(h.members) for h in county)
    refs_by_file = []
    rows = 0
    for name in summary.files:
        lines = (tmp_path / name).read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("户编号,区划代码")
        refs_by_file.append({line.split(",")[0] for line in lines[1:]})
        rows += len(lines) - 1
    assert rows == summary.persons
    for i, refs in enumerate(refs_by_file):
        for other in refs_by_file[i + 1 :]:
            assert not refs & other
    events = (tmp_path / "events.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(events) == sum(len(h.events) for h in county)


def test_life_events_travel_as_import_columns_by_default(county, tmp_path):
    import csv

    summary = write_county(iter(county[:3000]), tmp_path, persons_per_file=100_000)
    assert (tmp_path / "events.jsonl").read_text(encoding="utf-8") == ""
    with (tmp_path / summary.files[0]).open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert sum(1 for r in rows if r["死亡日期"]) == summary.events["death"]
    assert sum(1 for r in rows if r["残疾等级"] and r["残疾评定日期"]) == summary.events["disability_assessed"]
    assert sum(1 for r in rows if r["光荣证号"] and r["发证日期"]) == summary.events["certificate_issued"]
    assert sum(1 for r in rows if r["低保类别"] in ("低保", "特困") and r["低保起始日期"]) == summary.events[
        "low_income_changed"]
