"""A tiny router: request and response records, and route templates matched by regex."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.simulator.scenario import Scenario
from local.simulator.wire import ValidationError, envelope


@dataclass
class Request:
    method: str
    url: str  # the full request URL including the query string, for `links`
    path: str
    query: dict[str, list[str]]  # keys lower-cased: ASP.NET binds them case-insensitively
    headers: dict[str, str]  # keys lower-cased
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str) -> str | None:
        values = self.query.get(name.lower())
        return values[0] if values else None

    def args(self, name: str) -> list[str]:
        return self.query.get(name.lower(), [])

    def json(self) -> Any:
        """The JSON body; unreadable JSON is a model-binding error (400)."""
        try:
            return json.loads(self.body.decode("utf-8") or "null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValidationError(
                {"$": [f"The JSON value could not be converted. {exc}"]}
            ) from None


@dataclass
class Response:
    status: int
    body: Any = None  # a JSON-able value, or None for an empty body
    headers: dict[str, str] = field(default_factory=dict)


def ok(
    request: Request, payload: Any, *, count: int | None = None, total: int | None = None
) -> Response:
    return Response(200, envelope(request.url, request.method, payload, count=count, total=total))


Handler = Callable[[Scenario, Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        """`template` like "/api/2.0/people/{userid}"; earlier routes win."""
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self.routes.append(Route(method, template, re.compile(f"^{regex}/?$", re.I), handler))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, path params, whether the path exists for some other method)."""
        other_method = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found:
                if route.method == method:
                    return route, found.groupdict(), False
                other_method = True
        return None, {}, other_method
