"""Reading an uploaded import file: CSV (UTF-8, UTF-8 with BOM or GB18030) or XLSX.

`inspect_file` decides the format and the encoding and reads the header, raising FieldError (field
"file") for anything that is not a readable CSV or XLSX with known columns; `iter_rows` then yields
the data rows as lists of strings with their row number as a spreadsheet shows it (the header is
row 1). Empty rows are skipped.

The encoding of a CSV file is decided on the whole file: a UTF-8 byte order mark means UTF-8; else
the file is UTF-8 if all of it decodes as UTF-8 (plain ASCII does), else GB18030 if all of it
decodes as that (GB18030 is a superset of GBK and GB2312, which Excel on Chinese Windows writes).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from registry.domain.errors import FieldError
from registry.domain.import_rows import Header, read_header

XLSX_MAGIC = b"PK\x03\x04"
UTF8_BOM = codecs.BOM_UTF8
BLOCK = 1 << 20
csv.field_size_limit(1 << 20)


@dataclass(frozen=True)
class FileInfo:
    format: str  # "csv" or "xlsx"
    encoding: str | None  # of a CSV file: "utf-8-sig", "utf-8" or "gb18030"
    delimiter: str
    header: Header
    header_row: int  # the row number of the header (1 unless empty rows come first)


def _bad(message: str, message_zh: str) -> FieldError:
    return FieldError("file", message, message_zh)


def inspect_file(path: Path) -> FileInfo:
    """Format, encoding and header of an uploaded file, or FieldError (a 422 at upload)."""
    with path.open("rb") as f:
        head = f.read(8192)
    if not head.strip():
        raise _bad("The file is empty.", "文件为空。")
    if head.startswith(XLSX_MAGIC):
        return _inspect_xlsx(path)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _bad("UTF-16 text is not supported: save the file as CSV (UTF-8 or GB18030) or XLSX.",
                   "不支持UTF-16文本：请另存为CSV（UTF-8或GB18030）或XLSX文件。")
    if b"\x00" in head:
        raise _bad("This is not a CSV or XLSX file.", "这不是CSV或XLSX文件。")
    encoding = _csv_encoding(path)
    delimiter = _delimiter(head, encoding)
    header_row, cells = _first_row(_csv_rows(path, encoding, delimiter))
    return FileInfo("csv", encoding, delimiter, read_header(cells), header_row)


def iter_rows(path: Path, info: FileInfo) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of every non-empty data row."""
    rows = _csv_rows(path, info.encoding or "utf-8", info.delimiter) if info.format == "csv" else _xlsx_rows(path)
    for number, cells in rows:
        if number > info.header_row:
            yield number, cells


def estimate_rows(path: Path, info: FileInfo) -> int:
    """About how many data rows the file has, cheaply: its lines (CSV) or the sheet's dimension (XLSX)."""
    if info.format == "xlsx":
        workbook = _open_workbook(path)
        try:
            return max(0, (workbook.worksheets[0].max_row or 0) - info.header_row)
        finally:
            workbook.close()
    lines, last = 0, b""
    with path.open("rb") as f:
        while block := f.read(BLOCK):
            lines += block.count(b"\n")
            last = block
    if last and not last.endswith(b"\n"):
        lines += 1
    return max(0, lines - info.header_row)


def _csv_encoding(path: Path) -> str:
    with path.open("rb") as f:
        if f.read(3) == UTF8_BOM:
            encoding = "utf-8-sig"
            if _decodes(path, encoding):
                return encoding
            raise _bad("The file starts like UTF-8 but is not valid UTF-8.",
                       "文件以UTF-8标记开头，但内容不是有效的UTF-8。")
    for encoding in ("utf-8", "gb18030"):
        if _decodes(path, encoding):
            return encoding
    raise _bad("The file is neither UTF-8 nor GB18030 text: save it as CSV (UTF-8) or XLSX.",
               "文件既不是UTF-8也不是GB18030文本：请另存为CSV（UTF-8）或XLSX文件。")


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    with path.open("rb") as f:
        try:
            while block := f.read(BLOCK):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _delimiter(head: bytes, encoding: str) -> str:
    lines = head.decode(encoding, errors="ignore").lstrip("\ufeff").splitlines()
    first_line = next((line for line in lines if line.strip(" \t,")), "")
    return "\t" if first_line.count("\t") > first_line.count(",") else ","


def _csv_rows(path: Path, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    with path.open("r", encoding=encoding, newline="") as f:
        number = 0
        try:
            for cells in csv.reader(f, delimiter=delimiter, strict=False):
                number += 1
                if any(cell.strip() for cell in cells):
                    yield number, cells
        except csv.Error as exc:
            raise _bad(f"The CSV file cannot be read after row {number}: {exc}.",
                       f"CSV文件第{number}行之后无法读取：{exc}。") from None


def _first_row(rows: Iterator[tuple[int, list[str]]]) -> tuple[int, list[str]]:
    for number, cells in rows:
        return number, cells
    raise _bad("The file has no rows.", "文件没有内容。")


# -- XLSX -------------------------------------------------------------------------------------
def _open_workbook(path: Path):  # noqa: ANN202
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # a file object: openpyxl judges a path by its extension, and an upload is kept without one
        return openpyxl.load_workbook(io.BytesIO(path.read_bytes()), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise _bad(f"This is not a readable XLSX workbook ({type(exc).__name__}).",
                   "这不是可读取的XLSX工作簿。") from None


def _inspect_xlsx(path: Path) -> FileInfo:
    workbook = _open_workbook(path)
    try:
        header_row, cells = _first_row(_sheet_rows(workbook))
    finally:
        workbook.close()
    return FileInfo("xlsx", None, "", read_header(cells), header_row)


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    workbook = _open_workbook(path)
    try:
        yield from _sheet_rows(workbook)
    finally:
        workbook.close()


def _sheet_rows(workbook) -> Iterator[tuple[int, list[str]]]:  # noqa: ANN001
    sheet = workbook.worksheets[0]
    for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
        cells = [_cell_text(value) for value in values]
        if any(cells):
            yield number, cells


def _cell_text(value: object) -> str:
    """A cell as the text a person typed: whole numbers without ".0", dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    """CSV text of `rows` in `encoding` (for tests and tools writing import files)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)
