"""The HTTP vocabulary shared by every route: requests, responses and errors as values."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple
from urllib.parse import parse_qsl


class Request(NamedTuple):
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        """A query parameter, its name matched case-insensitively as ARM does."""
        wanted = name.lower()
        for key, value in self.query.items():
            if key.lower() == wanted:
                return value
        return None

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    def json(self) -> Any:
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except ValueError as error:
            raise HttpError.plain(400, f"The request body is not valid JSON: {error}") from None

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
        all_headers = {"Content-Type": "application/json; charset=utf-8"}
        all_headers.update(headers or {})
        return cls(status, json.dumps(payload).encode(), all_headers)


class HttpError(Exception):
    """A finished error response, raised from deep inside a route to end it."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"HTTP {response.status}")
        self.response = response

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> HttpError:
        return cls(Response.json(status, payload, headers))

    @classmethod
    def plain(cls, status: int, message: str) -> HttpError:
        return cls(Response(status, message.encode(), {"Content-Type": "text/plain"}))


class DropConnection(Exception):
    """Close the connection without answering (a fault, or a site that never started)."""


Params = Mapping[str, str]
Handler = Callable[[Request, Params], Response]
