"""The partners' check: until when a subject stays eligible on the facts on record."""

import dataclasses
from datetime import date

from entitlements_support import ONE_CHILD, SMALL, TEEN, household, pid

from entitlements.adapters.policy_library import load_library
from entitlements.service.checks import _anniversaries, eligible_on, valid_until

LIBRARY = {checked.policy.code: checked for checked in load_library()}


def row(family, name):  # noqa: ANN001, ANN201
    return next(r for r in household(family) if r.person_id == pid(family, name))


def test_a_leap_day_birthday_counts_from_1_march_in_common_years() -> None:
    assert _anniversaries(date(2012, 2, 29), date(2026, 1, 1), date(2028, 12, 31)) == [
        date(2026, 3, 1), date(2027, 3, 1), date(2028, 2, 29)]


def test_insurance_runs_to_the_day_before_the_seventh_birthday() -> None:
    insurance = LIBRARY["only-child-insurance"]
    boy = row(SMALL, "boy")
    assert eligible_on(insurance, boy, date(2026, 3, 31)) is not None
    assert valid_until(insurance, boy, date(2026, 1, 10)) == date(2026, 3, 31)
    assert eligible_on(insurance, boy, date(2026, 4, 1)) is None


def test_the_reward_fee_ends_when_the_only_child_turns_18() -> None:
    fee = LIBRARY["only-child-parents-reward-fee"]
    assert valid_until(fee, row(TEEN, "dad"), date(2026, 1, 1)) == date(2026, 3, 14)


def test_a_lifelong_benefit_is_valid_for_the_horizon_or_to_the_policys_end() -> None:
    waiver = LIBRARY["fee-waiver-benefit-card"]
    dad = row(ONE_CHILD, "dad")
    assert valid_until(waiver, dad, date(2026, 8, 1)) == date(2027, 8, 2)  # one year on (366 days)
    ending = dataclasses.replace(waiver, policy=dataclasses.replace(waiver.policy, effective_to=date(2026, 12, 31)))
    assert valid_until(ending, dad, date(2026, 8, 1)) == date(2026, 12, 31)
