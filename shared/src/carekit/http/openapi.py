"""Every service's OpenAPI lists the problem responses the kit itself can give for each operation.

The kit answers some requests before or around the service's own code: 401 where a token is needed,
403 where roles are required, 422 where there are parameters or a body (validation, JSON syntax,
control characters), 400 and 409 on POSTs (Idempotency-Key), 400 on paged lists (a foreign cursor),
412 and 428 where an `If-Match` header is taken, and 500 anywhere. The service's own responses stay as
it declares them. A problem's body is `application/problem+json` (never `application/json`).

It also writes the kit's control-character rule into what requests send (`state_the_text_rule`), so that
no schema-valid request is one the kit refuses.
"""

import json
import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from carekit.auth.deps import get_principal
from carekit.http.control_characters import REFUSED
from carekit.http.pagination import page_params
from carekit.http.problems import PROBLEM_JSON, Problem
from carekit.http.routes import calls

COMPONENT = "#/components/schemas/"
CLEAN_JSON = "JsonWithoutControlCharacters"
PROBLEM_REF = {"$ref": COMPONENT + "Problem"}
# What `carekit.http.control_characters.REFUSED` refuses, as a JSON Schema (ECMA-262) pattern.
TEXT_PATTERN = f"^[^{REFUSED.pattern.removeprefix('[').removesuffix(']')}]*$"
# The characters of TEXT_PATTERN's class, for a service's own negated classes (`[^{}` + TEXT_CHARS + `]`).
TEXT_CHARS = REFUSED.pattern.removeprefix("[").removesuffix("]")
# A string schema whose own pattern already refuses every control character says so with this key (and a
# test of the service proves it with `pattern_refuses_control_characters`): the kit then adds no second
# pattern beside it, which a generator could only meet by filtering.
REFUSES_CONTROLS = "x-refuses-control-characters"
# What may match a control character inside an anchored pattern: any character, a negation, whitespace.
_OPEN = re.compile(r"\.|\\[SDWsxuc]|\[\^")
_ANNOTATIONS = {"title", "description", "default", "examples", "example", "deprecated", "readOnly", "writeOnly"}
_CONSTRAINED = {"pattern", "format", "enum", "const", "contentMediaType", "contentEncoding"}
FASTAPI_422_REF = {"$ref": COMPONENT + "HTTPValidationError"}
_DESCRIPTIONS = {
    "400": "Bad request: an Idempotency-Key that is not 1–255 visible ASCII characters, a cursor this "
           "service did not issue, or a body that cannot be read",
    "401": "Missing, expired or invalid token",
    "403": "Not allowed for your role",
    "409": "Conflict: this Idempotency-Key was used for another request, or that request is still running",
    "412": "Changed since you read it: read it again and re-apply your change",
    "422": "Invalid request: a parameter or body field is missing or invalid (named in `errors`), the body "
           "is not valid JSON, or text holds control characters",
    "428": "If-Match required: send the ETag you last read",
    "500": "Internal error: nothing was changed; give the request_id to support",
}


def kit_statuses(route: Any, operation: dict[str, Any], method: str) -> set[str]:
    """The statuses the kit can answer this operation with."""
    dependencies = calls(route)
    statuses = {"500"}
    if get_principal in dependencies:
        statuses.add("401")
    if any(getattr(call, "required_roles", None) for call in dependencies):
        statuses.add("403")
    if operation.get("parameters") or operation.get("requestBody"):
        statuses.add("422")
    if method == "POST":
        statuses |= {"400", "409"}
    if page_params in dependencies or operation.get("requestBody"):
        statuses.add("400")
    headers = {p.get("name", "").lower() for p in operation.get("parameters", []) if p.get("in") == "header"}
    if "if-match" in headers:
        statuses |= {"412", "428"}
    return statuses


def _problem_only(status: str, response: dict[str, Any]) -> None:
    """FastAPI puts a `model` under `application/json`, and documents its own 422 body, which the kit
    never sends: a problem is only ever `application/problem+json`."""
    content = response.get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if (PROBLEM_JSON in content and schema == PROBLEM_REF) or (status == "422" and schema == FASTAPI_422_REF):
        response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
        if status == "422":
            response["description"] = _DESCRIPTIONS["422"]


def add_kit_responses(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    paths = schema.get("paths", {})
    for route in iter_route_contexts(app.routes):
        if not getattr(route, "include_in_schema", False) or getattr(route, "dependant", None) is None:
            continue
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                _problem_only(status, response)
            for status in kit_statuses(route, operation, method):
                responses.setdefault(status, {"description": _DESCRIPTIONS[status],
                                              "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}})
    _register_problem_schema(schema)
    state_the_text_rule(schema)
    return schema


def _text(node: dict[str, Any]) -> None:
    """A free-text string holds no control character (`carekit.http.control_characters`), nor does a key
    or anything under a key the model does not name (the rule reads the whole body): say so."""
    types = node.get("type")
    if node.get(REFUSES_CONTROLS):
        pass
    elif types == "string" or (isinstance(types, list) and "string" in types):
        if not _CONSTRAINED & node.keys():
            node["pattern"] = TEXT_PATTERN
        elif node.get("pattern", TEXT_PATTERN) != TEXT_PATTERN and not _closed(node["pattern"]):
            node.setdefault("allOf", [{"pattern": TEXT_PATTERN}])  # its own pattern may let a control through
    if types == "object" or "properties" in node:
        node.setdefault("propertyNames", {"pattern": TEXT_PATTERN})
        if node.get("additionalProperties", True) is True:
            node["additionalProperties"] = {"$ref": COMPONENT + CLEAN_JSON}
    elif node.keys() <= _ANNOTATIONS:  # any JSON value (`Any`)
        node["allOf"] = [{"$ref": COMPONENT + CLEAN_JSON}]


def state_the_text_rule(schema: dict[str, Any]) -> None:
    """Every free-text string a request sends (JSON body, query, path) documents the control-character rule,
    so that a client (or a fuzzer) is not promised a string the kit refuses. Components are shared with
    responses, which hold only text that passed the same rule."""
    stack: list[Any] = []
    for operation in (op for ops in schema.get("paths", {}).values() for op in ops.values()):
        stack += [p.get("schema") for p in operation.get("parameters", []) if p.get("in") in ("query", "path")]
        content = operation.get("requestBody", {}).get("content", {})
        stack += [body.get("schema") for media, body in content.items() if _is_json_media(media)]
    schema.setdefault("components", {}).setdefault("schemas", {}).setdefault(CLEAN_JSON, _clean_json())
    components = schema["components"]["schemas"]
    seen: set[str] = {COMPONENT + CLEAN_JSON}
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        ref = node.get("$ref", "")
        if ref.startswith(COMPONENT) and ref not in seen:
            seen.add(ref)
            stack.append(components.get(ref.removeprefix(COMPONENT)))
        _text(node)
        stack += [node.get(key) for key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "prefixItems")]
        stack += list(node.get("properties", {}).values())


def _is_json_media(media: str) -> bool:
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def pattern_refuses_control_characters(pattern: str, sample: str) -> bool:
    """True if `pattern` matches `sample` and matches it with no refused control character put at its start,
    in its middle or at its end: the proof a service gives for a schema marked with REFUSES_CONTROLS."""
    compiled = re.compile(pattern)
    if not compiled.search(sample):
        return False
    controls = [chr(c) for c in range(0x00, 0xA0) if REFUSED.match(chr(c))]
    middle = len(sample) // 2
    variants = (f"{c}{sample}" for c in controls), (f"{sample[:middle]}{c}{sample[middle:]}" for c in controls), (
        f"{sample}{c}" for c in controls)
    return not any(compiled.search(text) for group in variants for text in group)


def _closed(pattern: str) -> bool:
    """True if the pattern plainly matches no control character: anchored at both ends and made of
    digits, letters, listed characters and groups only (`^(?:0[1-9]|[1-9][0-9])[0-9]{10}$`)."""
    return pattern.startswith("^") and pattern.endswith(("$", "\\Z")) and not _OPEN.search(pattern)


def _clean_json() -> dict[str, Any]:
    itself = {"$ref": COMPONENT + CLEAN_JSON}
    return {
        "description": "Any JSON value whose strings and keys hold no control character",
        "anyOf": [
            {"type": "string", "pattern": TEXT_PATTERN},
            {"type": ["number", "boolean", "null"]},
            {"type": "array", "items": itself},
            {"type": "object", "propertyNames": {"pattern": TEXT_PATTERN}, "additionalProperties": itself},
        ],
    }


def _register_problem_schema(schema: dict[str, Any]) -> None:
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    if "HTTPValidationError" in schemas and json.dumps(schema.get("paths", {})).find(FASTAPI_422_REF["$ref"]) < 0:
        schemas.pop("HTTPValidationError")  # FastAPI's own 422 body, replaced above
        schemas.pop("ValidationError", None)
    if "Problem" not in schemas:
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["Problem"] = problem


def install_kit_responses(app: FastAPI) -> None:
    """Wrap `app.openapi` so that the schema it serves (and the committed snapshots) list the kit's responses."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        return add_kit_responses(app, build())

    app.openapi = openapi  # type: ignore[method-assign]
