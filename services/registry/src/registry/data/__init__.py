"""Data files bundled with the registry (read-only): the dated division code table.

Reading a file is I/O, so it lives here and not in `registry.domain`, which only parses text.
"""

from __future__ import annotations

from importlib.resources import files

DIVISIONS_CSV = "divisions.csv"


def division_csv_text() -> str:
    """The bundled division code table as text (UTF-8)."""
    return files(__package__).joinpath(DIVISIONS_CSV).read_text(encoding="utf-8")
