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
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .rest import Reply, json_reply
from .server import optional_module
from .store import ApiError

if TYPE_CHECKING:
    from .server import Emulator


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError as e:
        raise ApiError(400, "JSON_PARSER_ERROR", str(e)) from None
    if not isinstance(data, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "expected a JSON object")
    return data


def handle(emu: Emulator, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
    try:
        return _handle(emu, method, path, body)
    except ApiError as e:
        return json_reply(e.status, {"error": e.error_code, "message": e.message})


def _handle(emu: Emulator, method: str, path: str, body: bytes) -> Reply:
    parts = [p for p in path[len("/__emulator/") :].split("/") if p]
    head = parts[0] if parts else ""
    if head == "calls":
        if len(parts) == 1 and method == "GET":
            return json_reply(200, emu.counters.snapshot())
        if parts[1:] == ["reset"] and method == "POST":
            emu.counters.reset()
            return json_reply(200, emu.counters.snapshot())
    if head == "faults":
        if len(parts) == 1 and method == "GET":
            return json_reply(200, {"faults": emu.faults.list()})
        if (len(parts) == 1 and method == "DELETE") or (parts[1:] == ["clear"] and method == "POST"):
            emu.faults.clear()
            return json_reply(200, {"faults": []})
        if len(parts) == 1 and method == "POST":
            data = _json(body)
            specs = data.get("faults", [data])
            added = [emu.faults.add(s).as_dict() for s in specs]
            return json_reply(200, {"faults": added})
    if head == "settings" and len(parts) == 1:
        if method == "POST":
            emu.org.apply_settings(_json(body))
        if method in ("GET", "POST"):
            return json_reply(200, dict(emu.org.settings))
    if head == "reset" and method == "POST":
        emu.reset()
        return json_reply(200, {"reset": True})
    if head == "named-credentials" and len(parts) == 3 and parts[2] == "authorize" and method == "POST":
        mod = optional_module("metadata_api")
        if mod is None:
            raise ApiError(501, "NOT_IMPLEMENTED", "the Metadata API module is not available")
        emu.org.begin_request()
        mod.authorize_named_credential(emu.org, parts[1], _json(body).get("username"))
        return json_reply(200, {"authorized": parts[1]})
    if head == "named-credentials" and len(parts) == 3 and parts[2] == "revoke" and method == "POST":
        from . import tooling

        emu.org.begin_request()
        tooling.revoke_named_credential(emu, parts[1])
        return json_reply(200, {"revoked": parts[1]})
    if head == "oauth" and parts[1:] == ["refresh-token"] and method == "POST":
        from .auth import find_client

        data = _json(body)
        username = data.get("username") or emu.org.sobject_get("User", emu.org.admin_user_id())["Username"]  # type: ignore[index]
        users = emu.org.sobject_find("User", Username=username)
        if not users:
            raise ApiError(404, "NOT_FOUND", f"no user {username}")
        client_id = str(data.get("client_id") or "PlatformCLI")
        if find_client(emu.org, client_id) is None:
            raise ApiError(404, "NOT_FOUND", "no connected app with that consumer key")
        return json_reply(
            200,
            {"refresh_token": emu.org.new_refresh_token(users[0]["Id"], client_id), "client_id": client_id},
        )
    if head == "foreign-usernames" and len(parts) == 1 and method == "POST":
        names = _json(body).get("usernames")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ApiError(400, "INVALID_FIELD", '{"usernames": [...]} expected')
        emu.org.add_foreign_usernames(names)
        return json_reply(200, {"usernames": sorted(emu.org.foreign_usernames())})
    if head == "users" and len(parts) == 3 and parts[2] == "password" and method == "POST":
        from .auth import set_password

        data = _json(body)
        user = emu.org.sobject_get("User", parts[1])
        if user is None:
            raise ApiError(404, "NOT_FOUND", "no such user")
        set_password(emu.org, user["Id"], str(data["password"]))
        emu.org.set_meta_value(f"security_token:{user['Id']}", str(data.get("security_token") or ""))
        return json_reply(200, {"user_id": user["Id"]})
    raise ApiError(404, "NOT_FOUND", f"no control {method} {path}")
