"""What the app's routes declare, for the kit's middleware and OpenAPI hook: which route a request would
reach, which methods a path serves, which parameters and body an operation takes, which dependencies
it runs."""

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import RouteContext, iter_route_contexts
from starlette.types import Scope


def _matching(app: FastAPI, path: str) -> Iterator[tuple[RouteContext, dict[str, str]]]:
    for route in iter_route_contexts(app.routes):
        regex = getattr(route, "path_regex", None)
        match = regex.match(path) if regex is not None and route.methods else None
        if match:
            yield route, match.groupdict()


def methods_at(app: FastAPI, path: str) -> list[str]:
    """The methods of the resource at `path`, as the OpenAPI documents it: every route of the most concrete
    path template that matches (FastAPI makes one route per method; OpenAPI prefers a concrete path such as
    `/v1/persons/identifiers:batch` to a templated one such as `/v1/persons/{person_id}`)."""
    by_template: dict[str, set[str]] = {}
    for route, _ in _matching(app, path):
        by_template.setdefault(route.path_format, set()).update(route.methods or ())
    if not by_template:
        return []
    concrete = min(by_template, key=lambda template: template.count("{"))
    return sorted(by_template[concrete])


def route_for(app: FastAPI, scope: Scope, path: str) -> tuple[RouteContext, dict[str, str]] | None:
    """The route this request reaches and its raw path parameters, or None (a 404 or 405)."""
    return next(((route, params) for route, params in _matching(app, path) if scope["method"] in route.methods),
                None)


def dependencies_of(route: Any) -> Iterator[Dependant]:
    """The route's dependant and all its sub-dependencies, router-level ones included."""
    stack = [route.dependant] if getattr(route, "dependant", None) is not None else []
    while stack:
        dependant = stack.pop()
        yield dependant
        stack.extend(dependant.dependencies)


def calls(route: Any) -> list[Callable[..., Any]]:
    return [d.call for d in dependencies_of(route) if d.call is not None]


def query_names(route: Any) -> set[str]:
    """The query parameters the route declares, by the name the client sends."""
    return {param.alias for d in dependencies_of(route) for param in d.query_params}


def declares_body(route: Any) -> bool:
    """A JSON body FastAPI parses, or one the endpoint reads itself and documents (`openapi_extra`)."""
    extra = getattr(route, "openapi_extra", None) or {}
    return getattr(route, "body_field", None) is not None or "requestBody" in extra
