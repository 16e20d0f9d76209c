"""ETag / If-Match optimistic concurrency for updates."""

from typing import Annotated

from fastapi import Header, Request, Response

from carekit.http.problems import ProblemError

# Declare it on an endpoint that calls `require_if_match` (`_if_match: IfMatch = None`): the OpenAPI then
# documents the header, and the kit's OpenAPI hook the 412 and 428 answers.
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The ETag you last read (required: 428 "
                                                                     "without it, 412 if it changed since)")]


def etag_for(entity_id: object, version: int) -> str:
    return f'W/"{entity_id}-{version}"'


def set_etag(response: Response, entity_id: object, version: int) -> None:
    response.headers["ETag"] = etag_for(entity_id, version)


def require_if_match(request: Request, entity_id: object, version: int) -> None:
    """Refuse an update unless the caller proves it saw the current version.

    This check alone races with a concurrent writer: also make the UPDATE conditional on `version`
    and answer `precondition_failed(...)` when it matches no row.
    """
    supplied = request.headers.get("If-Match")
    if not supplied:
        raise ProblemError(
            428, "precondition-required", "If-Match required",
            "Send the ETag you last read in an If-Match header so that no one else's change is overwritten.",
            "缺少 If-Match", "请在 If-Match 头中带上您上次读取到的 ETag，以免覆盖他人的修改。",
        )
    current = etag_for(entity_id, version)
    candidates = {tag.strip() for tag in supplied.split(",")}
    if "*" not in candidates and current not in candidates and current.removeprefix("W/") not in candidates:
        raise precondition_failed(entity_id, version)


def precondition_failed(entity_id: object, current_version: int) -> ProblemError:
    """412 naming the current ETag; also for when a version-guarded UPDATE matched no row."""
    current = etag_for(entity_id, current_version)
    return ProblemError(
        412, "precondition-failed", "Changed since you read it",
        "Someone changed this record after you read it. Read it again and re-apply your change.",
        "记录已被修改", "您读取之后该记录已被他人修改，请重新读取后再修改。",
        headers={"ETag": current}, extensions={"current_etag": current},
    )
