"""A merged person's record answers 410 and points to the person it was merged into."""

from carekit.http.problems import PROBLEM_JSON, Problem, ProblemError
from registry.db.tables import PersonRecord

MERGED_RESPONSES: dict[int | str, dict] = {
    410: {"model": Problem, "content": {PROBLEM_JSON: {}},
          "description": "The person was a duplicate merged into another; see merged_into"}}


def merged_problem(person: PersonRecord) -> ProblemError:
    return ProblemError(
        410, "person-merged", "Person merged",
        "This record was a duplicate and was merged into another person; see merged_into.",
        "人员已合并", "该记录为重复登记，已合并到其他人员，请查看 merged_into。",
        extensions={"merged_into": f"/v1/persons/{person.merged_into}",
                    "merged_into_id": str(person.merged_into)},
    )


def raise_if_merged(person: PersonRecord) -> None:
    if person.merged_into is not None:
        raise merged_problem(person)
