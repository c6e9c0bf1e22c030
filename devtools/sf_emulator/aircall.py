"""A fake of Aircall's public API (https://developer.aircall.io/api-references/) under ``/aircall/v1``.

- ``GET /v1/ping`` answers 200 ``{"ping": "pong"}`` (API reference, "Ping").
- ``GET /v1/users`` lists the company's users (API reference, "List all Users"), each with ``id`` (an
  integer), ``direct_link``, ``name``, ``email``, ``available``, ``availability_status``, ``created_at``,
  ``time_zone``, ``language`` and ``wrap_up_time`` (the fields recorded in published API answers), a page at a
  time: ``page`` (default 1) and ``per_page`` (default 20, at most 50; Aircall Support, "Pagination in the
  Aircall API"), with ``meta`` ``{"count", "total", "current_page", "per_page", "next_page_link",
  "previous_page_link"}`` where the links are full URLs, null at either end.

Every request carries HTTP Basic ``api_id:api_token`` (Aircall tutorial "Basic Authentication"); without
credentials the answer is 401 with Aircall's error shape ``{"error", "troubleshoot"}``, with a key Aircall
does not know 403 ``{"message": "Forbidden"}``. Past ``aircall_rate_limit`` requests a minute (an org
setting, 60 by default; Aircall allows 60 to 120 a minute per company) the answer is 429, and every answer
carries ``X-AircallApi-Limit``, ``X-AircallApi-Remaining`` and ``X-AircallApi-Reset`` (UNIX time of the
window's end). A path Aircall does not serve is 404.
"""

from __future__ import annotations

import base64
import hmac
import time
from typing import Any

from .context import Context, Request
from .replies import Reply, json_reply

PER_PAGE_DEFAULT = 20
PER_PAGE_MAX = 50


def operation(request: Request) -> str:
    """The counter/fault operation: ``aircall.<resource>`` (``aircall.ping``, ``aircall.users``)."""
    parts = [p for p in request.path.split("/") if p]
    return "aircall." + (parts[2] if len(parts) > 2 else "root")


def _refusal(ctx: Context, header: str) -> Reply | None:
    """401 without Basic credentials, 403 for a key that is not the company's; None when they are."""
    if not header.startswith("Basic "):
        return json_reply(401, {"error": "Unauthorized", "troubleshoot": "Check your API key"})
    try:
        api_id, _, api_token = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return json_reply(401, {"error": "Unauthorized", "troubleshoot": "Check your API key"})
    known = hmac.compare_digest(api_id, ctx.org.meta("aircall_api_id") or "") and hmac.compare_digest(
        api_token, ctx.org.meta("aircall_api_token") or ""
    )
    return None if known else json_reply(403, {"message": "Forbidden"})


def handle(ctx: Context, request: Request) -> Reply:
    parts = [p for p in request.path.split("/") if p]  # ["aircall", "v1", resource, ...]
    resource = parts[2] if len(parts) == 3 and parts[1] == "v1" else None
    if request.method != "GET" or resource not in ("ping", "users"):
        return json_reply(404, {"error": "Not found", "troubleshoot": "Check the URL"})
    refused = _refusal(ctx, request.headers.get("authorization", ""))
    if refused is not None:
        return refused
    limit = int(ctx.org.setting("aircall_rate_limit"))
    allowed, remaining, reset_at = ctx.aircall_rate.hit(limit)
    limit_headers = {
        "X-AircallApi-Limit": str(limit),
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
    if resource == "ping":
        return json_reply(200, {"ping": "pong"}, limit_headers)
    return json_reply(200, _users_page(ctx, request.query), limit_headers)


def _number(query: dict[str, str], name: str, default: int) -> int:
    try:
        return max(1, int(query.get(name) or default))
    except ValueError:
        return default


def _users_page(ctx: Context, query: dict[str, str]) -> dict[str, Any]:
    users = ctx.org.aircall_users()
    page = _number(query, "page", 1)
    per_page = min(PER_PAGE_MAX, _number(query, "per_page", PER_PAGE_DEFAULT))
    base = f"{ctx.instance_url}/aircall/v1"
    shown = users[(page - 1) * per_page : page * per_page]
    last_page = max(1, -(-len(users) // per_page))

    def link(number: int) -> str | None:
        return f"{base}/users?page={number}&per_page={per_page}" if 1 <= number <= last_page else None

    return {
        "users": [_user(base, user) for user in shown],
        "meta": {
            "count": len(shown),
            "total": len(users),
            "current_page": page,
            "per_page": per_page,
            "next_page_link": link(page + 1),
            "previous_page_link": link(page - 1),
        },
    }


def _user(base: str, user: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": user["id"],
        "direct_link": f"{base}/users/{user['id']}",
        "name": user["name"],
        "email": user["email"],
        "available": True,
        "availability_status": "available",
        "created_at": user["created_at"],
        "time_zone": "Etc/UTC",
        "language": "en-US",
        "wrap_up_time": 0,
    }
