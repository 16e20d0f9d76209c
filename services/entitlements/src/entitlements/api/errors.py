"""Domain and use-case errors → problem+json (zh and en)."""

from fastapi import Request
from fastapi.responses import JSONResponse

from carekit.http.problems import FieldError as FieldErrorBody
from carekit.http.problems import ProblemError, problem_response
from entitlements.domain.errors import PolicyError
from entitlements.service.policies import BatchRefused, NotAllowed, PolicyConflict, PolicyNotFound


async def policy_error(request: Request, exc: PolicyError) -> JSONResponse:
    slug, title, title_zh = ("batch-unsupported", "Policy refused for batch use", "政策不能用于批量计算") \
        if isinstance(exc, BatchRefused) else ("invalid-policy", "Invalid policy", "政策无效")
    where = ""
    if exc.position:
        where = f" (line {exc.position.line}, column {exc.position.column})"
    problem = ProblemError(422, slug, title, f"{exc.field}: {exc.message}{where}", title_zh,
                           f"{exc.field}：{exc.message_zh}", extensions={
                               "field": exc.field,
                               "position": exc.position.as_dict() if exc.position else None})
    return problem_response(request, problem, [FieldErrorBody(field=exc.field or "body", message=exc.message,
                                                               message_zh=exc.message_zh)])


async def policy_not_found(request: Request, exc: PolicyNotFound) -> JSONResponse:
    return problem_response(request, ProblemError(404, "not-found", "Not found", f"No policy version {exc}.",
                                                  "未找到", f"没有政策版本 {exc}。"))


async def policy_conflict(request: Request, exc: PolicyConflict) -> JSONResponse:
    return problem_response(request, ProblemError(409, exc.slug, "Conflict", exc.message, "冲突", exc.message_zh,
                                                  extensions=exc.extensions))


async def not_allowed(request: Request, exc: NotAllowed) -> JSONResponse:
    return problem_response(request, ProblemError(403, "forbidden", "Forbidden", exc.message, "无权操作",
                                                  exc.message_zh))


HANDLERS = {PolicyError: policy_error, PolicyNotFound: policy_not_found, PolicyConflict: policy_conflict,
            NotAllowed: not_allowed}
