"""The short-cut check (no explanation) says exactly what the explained evaluation says."""

import pytest
from entitlements_support import LIBRARY_CASES, Case

from entitlements.adapters.policy_library import load_library
from entitlements.domain.evaluation import evaluate, holds, in_population

LIBRARY = load_library()


@pytest.mark.parametrize("case", LIBRARY_CASES, ids=lambda case: case.id)
def test_holds_agrees_with_evaluate(case: Case) -> None:
    for checked in LIBRARY:
        for row in case.rows:
            if in_population(checked.policy, row, case.as_of):
                assert holds(checked, row, case.as_of) == evaluate(checked, row, case.as_of).eligible
