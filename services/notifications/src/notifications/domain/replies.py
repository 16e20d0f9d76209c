"""What an inbound SMS means: an opt-out, a satisfaction score, or something a person must read."""

import unicodedata
from dataclasses import dataclass

OPT_OUT_WORDS = {"T", "TD", "退订", "N", "0000"}
SATISFIED_FROM = 4  # scores 4 and 5 count as satisfied
TARGET_PERCENT = 90


@dataclass(frozen=True)
class OptOut:
    pass


@dataclass(frozen=True)
class SurveyScore:
    score: int


@dataclass(frozen=True)
class FreeText:
    text: str


Reply = OptOut | SurveyScore | FreeText


def normalise(text: str) -> str:
    # NFKC turns full-width Ｔ and １ (common on Chinese keyboards) into T and 1.
    return unicodedata.normalize("NFKC", text).strip().strip("。.!！ ").upper()


def classify(text: str) -> Reply:
    word = normalise(text)
    if word in OPT_OUT_WORDS:
        return OptOut()
    if len(word) == 1 and word in "12345":
        return SurveyScore(int(word))
    return FreeText(text)


@dataclass(frozen=True)
class TownshipSatisfaction:
    township: str
    responses: int
    satisfied: int

    @property
    def percent(self) -> float:
        return round(100 * self.satisfied / self.responses, 1) if self.responses else 0.0

    @property
    def meets_target(self) -> bool:
        return self.responses > 0 and self.percent >= TARGET_PERCENT


def township_of(region_code: str) -> str:
    """A 12-digit village code's township: its first 9 digits."""
    return region_code[:9]
