"""Azure's own error text, from either of its error shapes, for the user to read."""

from __future__ import annotations

import json
from typing import Any, Optional


def azure_message(status: int, body: bytes, fallback: str = "") -> str:
    """`Code: Message` from an ARM (`error.code/message`) or App Service (`Code/Message`) body."""
    parsed = _parse(body)
    code, message = _code_and_message(parsed) if parsed is not None else ("", "")
    if not message:
        text = body.decode("utf-8", "replace").strip()
        message = text[:500] if text and parsed is None else fallback
    label = f"{code}: " if code else ""
    return f"{label}{message} (HTTP {status})" if message or code else f"HTTP {status}"


def azure_code(body: bytes) -> str:
    parsed = _parse(body)
    return _code_and_message(parsed)[0] if parsed is not None else ""


def _parse(body: bytes) -> Optional[Any]:
    try:
        return json.loads(body.decode("utf-8-sig")) if body else None
    except ValueError:
        return None


def _code_and_message(parsed: Any) -> tuple[str, str]:
    if not isinstance(parsed, dict):
        return "", ""
    error = parsed.get("error")
    if isinstance(error, dict):
        code, message = str(error.get("code") or ""), str(error.get("message") or "")
        details = error.get("details") or []
    else:
        code = str(parsed.get("Code") or parsed.get("code") or "")
        message = str(parsed.get("Message") or parsed.get("message") or "")
        details = parsed.get("Details") or parsed.get("details") or []
    extra = [
        str(d.get("Message") or d.get("message"))
        for d in details
        if isinstance(d, dict) and (d.get("Message") or d.get("message"))
    ]
    extra = [text for text in extra if text and text != message]
    if extra:
        message = " ".join([message, *extra]).strip()
    return code, message
