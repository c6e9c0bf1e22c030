"""Test controls under `/__emulator/` (bearer = the emulator's access token). Not part of Salesforce's API.

GET  calls                        {"total", "by_operation", "writes", "writes_by_operation"}
POST calls/reset
GET  faults                       pending faults
POST faults                       {"kind", "operation" (glob, default "*"), "name", "count", "latency_ms"}
                                  or {"faults": [...]}; kinds: latency, http_503, unable_to_lock_row,
                                  request_limit_exceeded, invalid_session_id, reset_before, reply_lost
DELETE faults, POST faults/clear  drop pending faults
GET|POST settings                 org settings (POST merges the given keys)
POST named-credentials/{name}/authorize   the browser authorize step (metadata_api); optional body
                                  {"username"}: authorize as that user (default: the seeded admin)
POST named-credentials/{name}/revoke      the OAuth token is gone (revoked, or a sandbox refresh): the
                                  executeAnonymous callout probe fails until authorized again (tooling)
POST reset                        back to the seeded org; counters and faults cleared
POST oauth/refresh-token          {"username", "client_id"} -> {"refresh_token"}: what the web-server flow's
                                  browser consent yields; default client is PlatformCLI
POST foreign-usernames            {"usernames": [...]}: taken in another org (usernames are global)
POST users/{id}/password          {"password", "security_token"}: set a user's login credentials
POST aircall/users                {"users": [{"email", "name"}, ...]}: new users of the Aircall company ->
                                  {"ids": [...], "users": [{"id", "email", "name", "created_at"}, ...]}
POST aircall/key                  {"api_token"}: the company's API key replaced (Aircall dashboard,
                                  Integrations & API > API Keys > Generate): the old token is refused
POST voice-calls                  {"count": N}: N calls received through the Aircall recording provider (its
                                  CallCoachingMediaProvider record, which must exist and be active) ->
                                  {"ids": [VoiceCall Ids]}
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from . import tooling
from .auth import find_client
from .context import Context, Request
from .replies import Reply, json_reply
from .store import ApiError

#: The recording provider the calls come through (store.VOICE_CONNECTOR_PROVIDERS), matched as SOQL does.
AIRCALL_PROVIDER = "Aircall"
#: dateTime as the REST API writes it.
SF_DATETIME = "%Y-%m-%dT%H:%M:%S.000+0000"


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError as e:
        raise ApiError(400, "JSON_PARSER_ERROR", str(e)) from None
    if not isinstance(data, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "expected a JSON object")
    return data


def handle(ctx: Context, request: Request) -> Reply:
    try:
        return _handle(ctx, request.method, request.path, request.body)
    except ApiError as e:
        return json_reply(e.status, {"error": e.error_code, "message": e.message})


def _handle(ctx: Context, method: str, path: str, body: bytes) -> Reply:
    parts = [p for p in path[len("/__emulator/") :].split("/") if p]
    head = parts[0] if parts else ""
    if head == "calls":
        if len(parts) == 1 and method == "GET":
            return json_reply(200, ctx.counters.snapshot())
        if parts[1:] == ["reset"] and method == "POST":
            ctx.counters.reset()
            return json_reply(200, ctx.counters.snapshot())
    if head == "faults":
        if len(parts) == 1 and method == "GET":
            return json_reply(200, {"faults": ctx.faults.list()})
        if (len(parts) == 1 and method == "DELETE") or (parts[1:] == ["clear"] and method == "POST"):
            ctx.faults.clear()
            return json_reply(200, {"faults": []})
        if len(parts) == 1 and method == "POST":
            data = _json(body)
            specs = data.get("faults", [data])
            added = [ctx.faults.add(s).as_dict() for s in specs]
            return json_reply(200, {"faults": added})
    if head == "settings" and len(parts) == 1:
        if method == "POST":
            ctx.org.apply_settings(_json(body))
        if method in ("GET", "POST"):
            return json_reply(200, dict(ctx.org.settings))
    if head == "reset" and method == "POST":
        ctx.reset()
        return json_reply(200, {"reset": True})
    if head == "named-credentials" and len(parts) == 3 and parts[2] == "authorize" and method == "POST":
        # Imported here: the Metadata API module loads lxml, which only Metadata calls need at start-up.
        from . import metadata_api

        ctx.org.begin_request()
        metadata_api.authorize_named_credential(ctx.org, parts[1], _json(body).get("username"))
        return json_reply(200, {"authorized": parts[1]})
    if head == "named-credentials" and len(parts) == 3 and parts[2] == "revoke" and method == "POST":
        ctx.org.begin_request()
        tooling.revoke_named_credential(ctx.org, parts[1])
        return json_reply(200, {"revoked": parts[1]})
    if head == "oauth" and parts[1:] == ["refresh-token"] and method == "POST":
        data = _json(body)
        username = data.get("username") or ctx.org.sobject_get("User", ctx.org.admin_user_id())["Username"]  # type: ignore[index]
        users = ctx.org.sobject_find("User", Username=username)
        if not users:
            raise ApiError(404, "NOT_FOUND", f"no user {username}")
        client_id = str(data.get("client_id") or "PlatformCLI")
        if find_client(ctx.org, client_id) is None:
            raise ApiError(404, "NOT_FOUND", "no connected app with that consumer key")
        return json_reply(
            200,
            {"refresh_token": ctx.org.new_refresh_token(users[0]["Id"], client_id), "client_id": client_id},
        )
    if head == "foreign-usernames" and len(parts) == 1 and method == "POST":
        names = _json(body).get("usernames")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ApiError(400, "INVALID_FIELD", '{"usernames": [...]} expected')
        ctx.org.add_foreign_usernames(names)
        return json_reply(200, {"usernames": sorted(ctx.org.foreign_usernames())})
    if head == "users" and len(parts) == 3 and parts[2] == "password" and method == "POST":
        data = _json(body)
        user = ctx.org.sobject_get("User", parts[1])
        if user is None:
            raise ApiError(404, "NOT_FOUND", "no such user")
        ctx.org.set_password(user["Id"], str(data["password"]), str(data.get("security_token") or ""))
        return json_reply(200, {"user_id": user["Id"]})
    if head == "aircall" and parts[1:] == ["users"] and method == "POST":
        wanted = _json(body).get("users")
        if not isinstance(wanted, list) or not all(isinstance(u, dict) for u in wanted):
            raise ApiError(400, "INVALID_FIELD", '{"users": [{"email": ..., "name": ...}]} expected')
        added = ctx.org.aircall_add_users(wanted)
        return json_reply(200, {"ids": [u["id"] for u in added], "users": added})
    if head == "aircall" and parts[1:] == ["key"] and method == "POST":
        token = _json(body).get("api_token")
        if not isinstance(token, str) or not token:
            raise ApiError(400, "INVALID_FIELD", '{"api_token": ...} expected')
        if ctx.org.meta("aircall_seeded_api_token") is None:  # what `reset` gives back
            ctx.org.set_meta_value("aircall_seeded_api_token", ctx.org.meta("aircall_api_token") or "")
        ctx.org.set_meta_value("aircall_api_token", token)
        return json_reply(200, {"api_id": ctx.org.meta("aircall_api_id")})
    if head == "voice-calls" and len(parts) == 1 and method == "POST":
        count = _json(body).get("count")
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 10000:
            raise ApiError(400, "INVALID_FIELD", '{"count": N} expected, 1 <= N <= 10000')
        return json_reply(200, {"ids": _aircall_calls(ctx, count)})
    raise ApiError(404, "NOT_FOUND", f"no control {method} {path}")


def _aircall_calls(ctx: Context, count: int) -> list[str]:
    """VoiceCall records as the Voice Connector writes them for calls Aircall delivered (Object Reference,
    "VoiceCall": MediaProviderId is the CallCoachingMediaProvider the call came through). A provider that is
    not active "can't upload voice recordings" (Metadata API, CallCoachingMediaProvider.isActive), so then
    nothing is received."""
    providers = ctx.org.sobject_find("CallCoachingMediaProvider", ProviderName=AIRCALL_PROVIDER)
    if not providers:
        raise ApiError(
            409, "NOT_FOUND", "no Aircall CallCoachingMediaProvider: the Voice Connector is not installed"
        )
    if not providers[0].get("IsActive"):
        raise ApiError(
            409, "INACTIVE", "the Aircall CallCoachingMediaProvider is inactive: no call is received"
        )
    now = datetime.now(UTC)
    ids: list[str] = []
    with ctx.org.transaction():
        for n in range(count):
            start = now - timedelta(minutes=5 + n)
            ids.append(
                ctx.org.sobject_insert(
                    "VoiceCall",
                    {
                        "CallType": "Inbound",
                        "FromPhoneNumber": f"+1415555{n % 10000:04d}",
                        "ToPhoneNumber": "+14155550100",
                        "CallStartDateTime": start.strftime(SF_DATETIME),
                        "CallEndDateTime": (start + timedelta(minutes=2)).strftime(SF_DATETIME),
                        "CallDurationInSeconds": 120,
                        "CallDisposition": "completed",
                        "VendorCallKey": f"aircall-{secrets.token_hex(8)}",
                        "MediaProviderId": providers[0]["Id"],
                        "OwnerId": ctx.org.admin_user_id(),
                    },
                )
            )
    return ids
