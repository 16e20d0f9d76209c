"""Division codes: structure, jurisdiction prefixes, and the dated code table."""

from datetime import date

import pytest
from registry.data import division_csv_text
from registry.domain.divisions import (
    DivisionLevel,
    DivisionStatus,
    DivisionTable,
    check_prefix,
    code_of_prefix,
    level_of,
    parse_division_csv,
    region_prefix,
    structural_parent,
    within,
)
from registry.domain.errors import FieldError

TABLE = parse_division_csv(division_csv_text())
TODAY = date(2025, 1, 1)

LEVELS = [
    ("360000000000", DivisionLevel.PROVINCE, "36", None),
    ("360700000000", DivisionLevel.PREFECTURE, "3607", "360000000000"),
    ("360702000000", DivisionLevel.COUNTY, "360702", "360700000000"),
    ("360702001000", DivisionLevel.TOWNSHIP, "360702001", "360702000000"),
    ("360702100201", DivisionLevel.VILLAGE, "360702100201", "360702100000"),
    ("110101001001", DivisionLevel.VILLAGE, "110101001001", "110101001000"),
    ("441900003000", DivisionLevel.TOWNSHIP, "441900003", "441900000000"),  # no county digits (东莞)
]


@pytest.mark.parametrize(("code", "level", "prefix", "parent"), LEVELS)
def test_level_prefix_and_parent_are_read_from_the_digits(
    code: str, level: DivisionLevel, prefix: str, parent: str | None
) -> None:
    assert level_of(code) is level
    assert region_prefix(code) == prefix
    assert len(prefix) == level.prefix_length
    assert code_of_prefix(prefix) == code
    assert structural_parent(code) == parent


@pytest.mark.parametrize(
    "code", ["36070200100", "3607020010001", "36070200100a", "000000000000", "３６０７０２００１００１"]
)
def test_malformed_codes_are_refused(code: str) -> None:
    with pytest.raises(FieldError) as caught:
        level_of(code)
    assert caught.value.field == "division_code"


JURISDICTION = [
    ("360702100201", "36", True),
    ("360702100201", "3607", True),
    ("360702100201", "360702", True),
    ("360702100201", "360702100", True),
    ("360702100201", "360702100201", True),
    ("360702100201", "360702000000", True),  # a county's own code covers its villages
    ("360702100201", "360702100000", True),
    ("360702100201", "3608", False),
    ("360702100201", "360703", False),
    ("360702100201", "360702101", False),
    ("360702100201", "360702100202", False),
    ("360702000000", "360702100", False),  # a township does not cover its county
    ("370702100201", "36", False),
]


@pytest.mark.parametrize(("code", "prefix", "inside"), JURISDICTION)
def test_jurisdiction_is_a_prefix(code: str, prefix: str, inside: bool) -> None:
    assert within(code, prefix) is inside


@pytest.mark.parametrize("prefix", ["", "3", "360", "36070", "3607021", "3607021001", "36070210020", "36x7"])
def test_a_region_prefix_has_2_4_6_9_or_12_digits(prefix: str) -> None:
    with pytest.raises(FieldError) as caught:
        check_prefix(prefix)
    assert caught.value.field == "region"


LOOKUPS = [
    # (code, day, status, name in force)
    ("360702000000", TODAY, DivisionStatus.VALID, "章贡区"),
    ("360702001000", TODAY, DivisionStatus.VALID, "解放街道"),
    ("360702191000", TODAY, DivisionStatus.VALID, "潭口镇"),
    ("360700000000", TODAY, DivisionStatus.VALID, "赣州市"),
    ("360000000000", date(1985, 1, 1), DivisionStatus.VALID, "江西省"),
    ("360702999000", TODAY, DivisionStatus.UNKNOWN, None),
    ("110101000000", TODAY, DivisionStatus.UNKNOWN, None),
    # retired county codes, before and after
    ("360782000000", date(2010, 1, 1), DivisionStatus.VALID, "南康市"),
    ("360782000000", date(2013, 10, 31), DivisionStatus.VALID, "南康市"),
    ("360782000000", date(2013, 11, 1), DivisionStatus.RETIRED, None),  # valid_to is the first day out
    ("360703000000", date(2013, 11, 1), DivisionStatus.VALID, "南康区"),
    ("360703000000", date(2010, 1, 1), DivisionStatus.NOT_YET, None),
    ("360721000000", TODAY, DivisionStatus.RETIRED, None),
    ("360704000000", TODAY, DivisionStatus.VALID, "赣县区"),
    ("362101000000", date(1990, 1, 1), DivisionStatus.VALID, "赣州市"),
    ("362101000000", TODAY, DivisionStatus.RETIRED, None),
    ("362100000000", TODAY, DivisionStatus.RETIRED, None),
    # a retired village: in the 2022 edition, gone from the 2023 one
    ("360702191002", date(2022, 12, 31), DivisionStatus.VALID, "北街居委会"),
    ("360702191002", date(2023, 6, 30), DivisionStatus.RETIRED, None),
    # townships created when 水南镇 was split in 2020
    ("360702006000", date(2019, 12, 31), DivisionStatus.NOT_YET, None),
    ("360702006000", TODAY, DivisionStatus.VALID, "章江街道"),
]


@pytest.mark.parametrize(("code", "day", "status", "name"), LOOKUPS)
def test_is_this_code_valid_on_this_day(
    code: str, day: date, status: DivisionStatus, name: str | None
) -> None:
    assert TABLE.status(code, day) is status
    assert TABLE.is_valid_on(code, day) is (status is DivisionStatus.VALID)
    row = TABLE.on(code, day)
    assert (row.name if row else None) == name


REFUSALS = [
    ("360782000000", TODAY, "retired on 2013-11-01", "已于2013-11-01撤销"),
    ("360702999000", TODAY, "not in the code table", "不在区划代码表中"),
    ("360704000000", date(2000, 1, 1), "not in force yet", "尚未启用"),
    ("3607", TODAY, "12 digits", "12位"),
]


@pytest.mark.parametrize(("code", "day", "says", "says_zh"), REFUSALS)
def test_require_explains_why_a_code_cannot_be_used(code: str, day: date, says: str, says_zh: str) -> None:
    with pytest.raises(FieldError) as caught:
        TABLE.require(code, day, field="residence_division_code")
    assert caught.value.field == "residence_division_code"
    assert says in caught.value.message
    assert says_zh in caught.value.message_zh


def test_require_returns_the_row_in_force() -> None:
    assert TABLE.require("360702100201", TODAY).level is DivisionLevel.VILLAGE


def test_children_and_retired_codes_on_a_day() -> None:
    townships = TABLE.children("360702000000", TODAY)
    assert len(townships) == 17
    assert townships[0].name == "解放街道"
    assert all(row.level is DivisionLevel.TOWNSHIP for row in townships)
    assert "360702005000" not in {row.code for row in TABLE.children("360702000000", date(2019, 1, 1))}
    assert [row.code for row in TABLE.children("360702191000", date(2020, 1, 1))] == ["360702191002"]
    assert TABLE.children("360702191000", TODAY) == ()
    retired = {row.code: row.valid_to for row in TABLE.retired(TODAY)}
    assert retired["360782000000"] == date(2013, 11, 1)
    assert retired["360702191002"] == date(2023, 6, 30)
    assert "360721000000" not in {row.code for row in TABLE.retired(date(2016, 1, 1))}


def test_every_bundled_row_is_inside_jiangxi_and_parented() -> None:
    assert len(TABLE) >= 30
    for code in ("360702000000", "360702100201", "360702191002"):
        assert within(code, "36")


HEADER = "code,name,level,parent_code,valid_from,valid_to\n"
PROVINCE = "360000000000,江西省,province,,1980-01-01,\n"


def test_a_renamed_code_keeps_its_number_with_one_row_per_name() -> None:
    table = parse_division_csv(
        "# renamed township\n"
        + HEADER
        + PROVINCE
        + "360700000000,赣州市,prefecture,360000000000,1998-12-01,\n"
        + "360781000000,瑞金市,county,360700000000,1998-12-01,\n"
        + "360781203000,岗面乡,township,360781000000,1998-12-01,2023-06-30\n"
        + "360781203000,冈面乡,township,360781000000,2023-06-30,\n"
    )
    assert isinstance(table, DivisionTable)
    assert table.on("360781203000", date(2020, 1, 1)).name == "岗面乡"  # type: ignore[union-attr]
    assert table.on("360781203000", TODAY).name == "冈面乡"  # type: ignore[union-attr]
    assert [row.name for row in table.history("360781203000")] == ["岗面乡", "冈面乡"]
    assert table.retired(TODAY) == ()


BAD_TABLES = [
    ("wrong header", "code,name\n", "divisions"),
    (
        "level not matching digits",
        PROVINCE + "360700000000,赣州市,county,360000000000,1998-12-01,\n",
        "line 3: level",
    ),
    ("unknown level", PROVINCE + "360700000000,赣州市,city,360000000000,1998-12-01,\n", "line 3: level"),
    (
        "wrong parent",
        PROVINCE + "360702000000,章贡区,county,360000000000,1998-12-01,\n",
        "line 3: parent_code",
    ),
    (
        "parent not in table",
        PROVINCE + "360702000000,章贡区,county,360700000000,1998-12-01,\n",
        "line 3: parent_code",
    ),
    (
        "bad date",
        PROVINCE + "360700000000,赣州市,prefecture,360000000000,1998-13-01,\n",
        "line 3: valid_from",
    ),
    (
        "end before start",
        PROVINCE + "360700000000,赣州市,prefecture,360000000000,1998-12-01,1998-01-01\n",
        "line 3: valid_to",
    ),
    ("short code", PROVINCE + "3607,赣州市,prefecture,360000000000,1998-12-01,\n", "line 3: code"),
    ("missing column", PROVINCE + "360700000000,赣州市,prefecture,360000000000\n", "line 3"),
]


@pytest.mark.parametrize(("case", "body", "field"), BAD_TABLES, ids=[case for case, _, _ in BAD_TABLES])
def test_a_bad_table_is_refused_naming_the_line(case: str, body: str, field: str) -> None:
    text = body if case == "wrong header" else HEADER + body
    with pytest.raises(FieldError) as caught:
        parse_division_csv(text)
    assert caught.value.field == field
