"""Connect REST API: the OAuth Credentials and OAuth Usage resources of the emulated org.

Sources (Connect REST API Developer Guide, v60.0+):
- "OAuth Credentials by App ID": ``GET /apps/oauth/credentials/{appIdentifier}`` -> App Oauth
  Credentials Collection (the app's OAuth consumers).
- "OAuth Credentials by Consumer ID":
  ``GET /apps/oauth/credentials/{appIdentifier}/{oauthConsumerIdentifier}`` with ``part`` = ``key`` (the
  default), ``secret`` or ``keyandsecret`` -> App Oauth Credentials; "the secret value is returned only when
  specified in this parameter".
- "OAuth Usage": ``GET /apps/oauth/usage`` lists the org's OAuth apps with their identifiers (how a client
  finds the app id of an external client app; a connected app's id is also its ConnectedApplication Id).
Response property names follow clients written against the live API (sfdx-hardis
``externalClientAppUtils.ts``: ``consumers[].id/key/name``, ``{key, secret}``,
``apps[].developerName/identifier/label``).

Emulator scope: every session is treated as an admin with the "View Client Secret" permission, and the org's
"Allow access to External Client App consumer secrets via REST API" setting is on.
"""

from __future__ import annotations

from typing import Any

from devtools.sf_emulator import metadata_types as mt
from devtools.sf_emulator.metadata_types import OAuthConsumer, OrgLike

API_VERSION = "63.0"
_PARTS = ("key", "secret", "keyandsecret")


def _error(status: int, code: str, message: str) -> tuple[int, Any]:
    # Connect REST errors are a JSON array of {errorCode, message} (Connect REST guide, "Status Codes and
    # Error Responses").
    return status, [{"errorCode": code, "message": message}]


def _not_found() -> tuple[int, Any]:
    return _error(404, "NOT_FOUND", "The requested resource does not exist")


def _same_id(a: str, b: str) -> bool:
    # 15- and 18-character forms name the same record; the first 15 characters are the case-sensitive Id.
    return len(a) in (15, 18) and len(b) in (15, 18) and a[:15] == b[:15]


def _resource_path(path: str) -> str:
    """``/services/data/v63.0/apps/oauth/...`` or ``/apps/oauth/...`` -> ``apps/oauth/...``."""
    path = path.split("?", 1)[0]
    marker = "/apps/oauth/"
    index = path.find(marker)
    return path[index + 1 :].rstrip("/") if index >= 0 else path.strip("/")


def _base(version: str) -> str:
    return f"/services/data/v{version}/apps/oauth/credentials"


def _version(path: str) -> str:
    for part in path.split("/"):
        if part.startswith("v") and part[1:].replace(".", "").isdigit():
            return part[1:]
    return API_VERSION


def _consumer_json(consumer: OAuthConsumer, version: str, part: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": consumer.consumer_id,
        "name": consumer.app_label,
        "url": f"{_base(version)}/{consumer.app_id}/{consumer.consumer_id}",
    }
    if part in (None, "key", "keyandsecret"):
        body["key"] = consumer.key
    if part in ("secret", "keyandsecret"):
        body["secret"] = consumer.secret
    return body


def handle(org: OrgLike, method: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
    """Answer one Connect REST request under ``/apps/oauth/``; (HTTP status, JSON body)."""
    resource = _resource_path(path)
    version = _version(path)
    segments = resource.split("/")
    if segments[:2] != ["apps", "oauth"] or len(segments) < 3:
        return _not_found()
    if method.upper() != "GET":
        return _error(
            405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method.upper()}' not allowed. Allowed are GET"
        )
    consumers = mt.oauth_consumers(org)
    if segments[2] == "usage" and len(segments) == 3:
        return 200, _usage(org, consumers)
    if segments[2] != "credentials" or len(segments) not in (4, 5):
        return _not_found()
    app_id = segments[3]
    app_consumers = [c for c in consumers if _same_id(c.app_id, app_id)]
    if not app_consumers and not _app_exists(org, app_id):
        return _not_found()
    if len(segments) == 4:
        return 200, {"consumers": [_consumer_json(c, version, "key") for c in app_consumers]}
    part = query.get("part", "key").lower()
    if part not in _PARTS:
        return _error(
            400,
            "INVALID_PARAMETER_VALUE",
            f"Invalid value for parameter part: {query.get('part')}. "
            "Valid values are key, secret, keyandsecret.",
        )
    for consumer in app_consumers:
        if _same_id(consumer.consumer_id, segments[4]):
            return 200, _consumer_json(consumer, version, part)
    return _not_found()


def _app_exists(org: OrgLike, app_id: str) -> bool:
    for type_name in ("ConnectedApp", "ExternalClientApplication"):
        if any(_same_id(str(r.get("_id", "")), app_id) for r in org.metadata_list(type_name)):
            return True
    return False


def _usage(org: OrgLike, consumers: list[OAuthConsumer]) -> dict[str, Any]:
    apps: dict[str, dict[str, Any]] = {}
    for type_name, kind in (
        ("ConnectedApp", "ConnectedApp"),
        ("ExternalClientApplication", "ExternalClientApp"),
    ):
        for record in org.metadata_list(type_name):
            apps[record["_id"]] = {
                "identifier": record["_id"],
                "developerName": record["fullName"],
                "label": record.get("label", record["fullName"]),
                "appType": kind,
                "hasOAuthConsumer": any(c.app_id == record["_id"] for c in consumers),
            }
    return {"apps": sorted(apps.values(), key=lambda a: a["developerName"].lower())}
