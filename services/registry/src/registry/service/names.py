"""Pinyin forms of Chinese names, for search (张三 → "zhang san", initials "zs")."""

from pypinyin import Style, lazy_pinyin


def pinyin_of(name: str) -> str:
    return " ".join(lazy_pinyin(name, errors="default")).lower()


def initials_of(name: str) -> str:
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default")).lower()
