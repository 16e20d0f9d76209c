"""Identifiers that pass the registry's checks: resident ID numbers (GB 11643), phones, bank cards."""

from __future__ import annotations

import random
from datetime import date

from stdnum import luhn
from stdnum.cn import ric

# Mobile number prefixes of the three carriers (a sample; all are valid mainland mobile ranges).
MOBILE_PREFIXES = (
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "157",
    "158",
    "159",
    "182",
    "183",
    "187",
    "188",
    "130",
    "131",
    "132",
    "155",
    "156",
    "185",
    "186",
    "133",
    "153",
    "180",
    "181",
    "189",
    "177",
    "199",
)
# Issuer numbers of debit cards commonly used as benefit accounts (一卡通): 19-digit UnionPay debit.
CARD_BINS = ("621799", "622848", "621700", "622202", "621226", "623058")


# A resident ID keeps the county code in force where and when it was first issued: a person born in
# 章贡区 before it was created (1998-12) carries the code of the county-level 赣州市 (362101), and
# python-stdnum (like the registry) checks the code against the GB/T 2260 edition of the birth year.
PREDECESSORS: dict[str, tuple[str, date]] = {"360702": ("362101", date(1998, 12, 1))}


def id_region(region6: str, birth: date) -> str:
    predecessor = PREDECESSORS.get(region6)
    return predecessor[0] if predecessor and birth < predecessor[1] else region6


class ResidentIds:
    """Unique resident ID numbers: region + birth date + sequence (odd for men) + check digit."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def new(self, region6: str, birth: date, male: bool) -> str:
        while True:
            seq = self._rng.randrange(0, 500) * 2 + (1 if male else 0)
            body = f"{id_region(region6, birth)}{birth:%Y%m%d}{seq:03d}"
            if body not in self._used:
                self._used.add(body)
                return body + ric.calc_check_digit(body + "0")


def phone(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def bank_card(rng: random.Random) -> str:
    body = rng.choice(CARD_BINS) + f"{rng.randrange(10**12):012d}"
    return body + luhn.calc_check_digit(body)
