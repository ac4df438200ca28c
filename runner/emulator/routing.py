"""Route tables: path templates matched case-insensitively, as ARM and Entra match them."""

from __future__ import annotations

import re
from typing import NamedTuple

from runner.emulator.wire import Handler, HttpError, Params, Request, Response

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class Route(NamedTuple):
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def compile_template(template: str) -> re.Pattern[str]:
    """`/sites/{app}` -> a regex with named groups; a trailing slash is optional."""
    parts: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[position : match.start()]))
        parts.append(f"(?P<{match.group(1)}>[^/]+)")
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("^" + "".join(parts).rstrip("/") + "/?$", re.IGNORECASE)


class Router:
    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        self._routes.append(Route(method.upper(), compile_template(template), handler))

    def find(self, method: str, path: str) -> tuple[Handler, Params] | None:
        """The handler for a request; raises 405 when only the method is wrong."""
        path_matched = False
        for route in self._routes:
            match = route.pattern.match(path)
            if match is None:
                continue
            if route.method == method.upper():
                return route.handler, match.groupdict()
            path_matched = True
        if path_matched:
            raise HttpError.plain(405, f"The method {method} is not allowed on {path}.")
        return None

    def dispatch(self, request: Request) -> Response | None:
        found = self.find(request.method, request.path)
        if found is None:
            return None
        handler, params = found
        return handler(request, params)
