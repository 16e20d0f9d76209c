"""Domain errors → problem+json."""

from fastapi import Request
from fastapi.responses import JSONResponse

from carekit.http.problems import FieldError as FieldErrorBody
from carekit.http.problems import ProblemError, problem_response
from registry.domain.errors import FieldError
from registry.service.persons import DuplicatePerson


async def field_error(request: Request, exc: FieldError) -> JSONResponse:
    problem = ProblemError(
        422, "validation-error", "Invalid request", f"{exc.field}: {exc.message}", "请求数据无效",
        f"{exc.field}：{exc.message_zh}",
    )
    return problem_response(request, problem, [FieldErrorBody(field=exc.field, message=exc.message,
                                                               message_zh=exc.message_zh)])


async def duplicate_person(request: Request, exc: DuplicatePerson) -> JSONResponse:
    problem = ProblemError(
        409, "duplicate-person", "Person already registered",
        "A person with this resident ID number is already registered; see existing_person.",
        "人员已登记", "该公民身份号码已有登记，请查看 existing_person。",
        extensions={"existing_person": f"/v1/persons/{exc.existing_id}", "existing_person_id": str(exc.existing_id)},
    )
    return problem_response(request, problem)


HANDLERS = {FieldError: field_error, DuplicatePerson: duplicate_person}
