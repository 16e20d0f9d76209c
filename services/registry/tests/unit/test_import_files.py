"""Reading import files (registry.adapters.import_files): encodings, delimiters, XLSX cells, garbage."""

import io
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from registry.adapters.import_files import csv_bytes, estimate_rows, inspect_file, iter_rows
from registry.domain.errors import FieldError

HEADER = ["户编号", "区划代码", "户口性质", "姓名", "与户主关系", "公民身份号码"]
ROWS = [["H1", "360702001001", "农业", "王建国", "户主", "36070219700501031X"],
        ["H1", "360702001001", "", "李秀英，“小名”", "配偶", ""]]


def write(tmp_path: Path, content: bytes, name: str = "upload") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(("encoding", "expected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"),
                                                    ("gb18030", "gb18030"), ("gbk", "gb18030")])
def test_csv_encodings_are_detected(tmp_path: Path, encoding: str, expected: str) -> None:
    path = write(tmp_path, csv_bytes([HEADER, *ROWS], encoding))
    info = inspect_file(path)
    assert (info.format, info.encoding, info.delimiter, info.header_row) == ("csv", expected, ",", 1)
    assert list(iter_rows(path, info)) == [(2, ROWS[0]), (3, ROWS[1])]


def test_blank_rows_are_skipped_and_rows_keep_their_numbers(tmp_path: Path) -> None:
    text = "\r\n".join(["", "\t".join(HEADER), "\t".join(ROWS[0]), "\t\t", "", "\t".join(ROWS[1])]) + "\r\n"
    path = write(tmp_path, text.encode("gb18030"))
    info = inspect_file(path)
    assert (info.delimiter, info.header_row) == ("\t", 2)
    assert [number for number, _ in iter_rows(path, info)] == [3, 6]
    assert estimate_rows(path, info) == 4  # lines after the header: an estimate, made exact while reading


def test_a_late_non_utf8_byte_still_makes_it_gb18030(tmp_path: Path) -> None:
    header = ["household_ref", "division_code", "hukou_type", "name", "relation", "id_number"]
    rows = [["H1", "360702001001", "rural", f"Name{i}", "head", ""] for i in range(50000)]  # ASCII: UTF-8 too
    content = csv_bytes([header, *rows], "utf-8") + "H2,360702001001,农业,张三,户主,\r\n".encode("gb18030")
    info = inspect_file(write(tmp_path, content))
    assert info.encoding == "gb18030"


def test_xlsx_cells_read_as_typed(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER + ["出生日期", "手机号码"])
    sheet.append(["H1", 360702001001, "农业", " 王建国 ", "户主", "36070219700501031X", datetime(1970, 5, 1),
                  13800138000])
    sheet.append([None] * 8)
    sheet.append(["H1", "360702001001", "", "李秀英", "配偶", None, date(1972, 6, 2), 13800138001.0])
    buffer = io.BytesIO()
    workbook.save(buffer)
    path = write(tmp_path, buffer.getvalue())
    info = inspect_file(path)
    assert (info.format, info.encoding) == ("xlsx", None)
    assert list(iter_rows(path, info)) == [
        (2, ["H1", "360702001001", "农业", "王建国", "户主", "36070219700501031X", "1970-05-01", "13800138000"]),
        (4, ["H1", "360702001001", "", "李秀英", "配偶", "", "1972-06-02", "13800138001"]),
    ]
    assert estimate_rows(path, info) == 3


@pytest.mark.parametrize(("content", "words"), [
    (b"", "empty"),
    (b"\x00\x01\x02garbage", "not a CSV or XLSX"),
    ("户编号,姓名".encode("utf-16"), "UTF-16"),
    (b"PK\x03\x04not a zip at all", "XLSX"),
    (bytes([0x81, 0x20, 0xff, 0xfe, 0x80]) * 10, "neither UTF-8 nor GB18030"),
    (b"\xef\xbb\xbf" + "户编号".encode() + b"\xff\xfe", "UTF-8"),
    ("姓名,年龄\n".encode(), "Unknown column"),
])
def test_unreadable_files_are_refused(tmp_path: Path, content: bytes, words: str) -> None:
    with pytest.raises(FieldError) as caught:
        inspect_file(write(tmp_path, content))
    assert caught.value.field == "file" and words in caught.value.message and caught.value.message_zh
