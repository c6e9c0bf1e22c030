"""A fake of Aircall's public API (https://developer.aircall.io/api-references/).

`GET /v1/ping` with HTTP Basic auth `api_id:api_token` answers 200 {"ping": "pong"}, 401 for wrong
credentials, and 429 past 60 requests a minute per key, with Aircall's rate-limit headers
X-AircallApi-Limit, X-AircallApi-Remaining, X-AircallApi-Reset (epoch seconds when the window resets).
"""

from __future__ import annotations

import base64
import hmac
import time
from typing import TYPE_CHECKING

from .rest import Reply, json_reply

if TYPE_CHECKING:
    from .server import Emulator

RATE_LIMIT = 60
WINDOW_SECONDS = 60.0


def _credentials_ok(emu: Emulator, header: str) -> bool:
    if not header.startswith("Basic "):
        return False
    try:
        api_id, _, api_token = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return hmac.compare_digest(api_id, emu.org.meta("aircall_api_id") or "") and hmac.compare_digest(
        api_token, emu.org.meta("aircall_api_token") or ""
    )


def handle(emu: Emulator, method: str, path: str, headers: dict[str, str]) -> Reply:
    if path.rstrip("/") != "/aircall/v1/ping" or method != "GET":
        return json_reply(404, {"error": "Not found", "troubleshoot": "Check the URL"})
    if not _credentials_ok(emu, headers.get("authorization", "")):
        return json_reply(401, {"error": "Unauthorized", "troubleshoot": "Check your API key"})
    now = time.time()
    with emu.aircall_lock:
        window = [t for t in emu.aircall_window if now - t < WINDOW_SECONDS]
        emu.aircall_window[:] = window
        reset_at = int((window[0] if window else now) + WINDOW_SECONDS)
        if len(window) >= RATE_LIMIT:
            limit_headers = {
                "X-AircallApi-Limit": str(RATE_LIMIT),
                "X-AircallApi-Remaining": "0",
                "X-AircallApi-Reset": str(reset_at),
                "Retry-After": str(max(1, int(reset_at - now))),
            }
            return json_reply(
                429,
                {"error": "Too Many Requests", "troubleshoot": "Wait for the rate limit reset"},
                limit_headers,
            )
        emu.aircall_window.append(now)
        remaining = RATE_LIMIT - len(emu.aircall_window)
    return json_reply(
        200,
        {"ping": "pong"},
        {
            "X-AircallApi-Limit": str(RATE_LIMIT),
            "X-AircallApi-Remaining": str(remaining),
            "X-AircallApi-Reset": str(reset_at),
        },
    )
