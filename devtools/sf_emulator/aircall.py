"""A fake of Aircall's public API (https://developer.aircall.io/api-references/).

`GET /v1/ping` with HTTP Basic auth `api_id:api_token` answers 200 {"ping": "pong"}, 401 for wrong
credentials, and 429 past 60 requests a minute per key, with Aircall's rate-limit headers
X-AircallApi-Limit, X-AircallApi-Remaining, X-AircallApi-Reset (epoch seconds when the window resets).
"""

from __future__ import annotations

import base64
import hmac
import time

from .context import Context, Request
from .replies import Reply, json_reply

RATE_LIMIT = 60


def _credentials_ok(ctx: Context, header: str) -> bool:
    if not header.startswith("Basic "):
        return False
    try:
        api_id, _, api_token = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return hmac.compare_digest(api_id, ctx.org.meta("aircall_api_id") or "") and hmac.compare_digest(
        api_token, ctx.org.meta("aircall_api_token") or ""
    )


def operation(request: Request) -> str:
    """The counter/fault operation: ``aircall.<resource>`` (``aircall.ping``)."""
    return "aircall." + request.path.rstrip("/").rsplit("/", 1)[-1]


def handle(ctx: Context, request: Request) -> Reply:
    if request.path.rstrip("/") != "/aircall/v1/ping" or request.method != "GET":
        return json_reply(404, {"error": "Not found", "troubleshoot": "Check the URL"})
    if not _credentials_ok(ctx, request.headers.get("authorization", "")):
        return json_reply(401, {"error": "Unauthorized", "troubleshoot": "Check your API key"})
    allowed, remaining, reset_at = ctx.aircall_rate.hit(RATE_LIMIT)
    limit_headers = {
        "X-AircallApi-Limit": str(RATE_LIMIT),
        "X-AircallApi-Remaining": str(remaining),
        "X-AircallApi-Reset": str(reset_at),
    }
    if not allowed:
        limit_headers["Retry-After"] = str(max(1, int(reset_at - time.time())))
        return json_reply(
            429,
            {"error": "Too Many Requests", "troubleshoot": "Wait for the rate limit reset"},
            limit_headers,
        )
    return json_reply(200, {"ping": "pong"}, limit_headers)
