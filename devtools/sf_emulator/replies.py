"""What a handler answers: ``(HTTP status, headers, body)``, and the reply forms every surface shares.

Shapes follow the REST API Developer Guide, "Status Codes and Error Responses"
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm): an error is a JSON
array of ``{"message", "errorCode", "fields"}``; a resource-level one (404 NOT_FOUND, 405) has no ``fields``.
"""

from __future__ import annotations

import json
from typing import Any

from .store import ApiError

Reply = tuple[int, dict[str, str], bytes]

JSON_TYPE = "application/json;charset=UTF-8"
XML_TYPE = "text/xml;charset=UTF-8"


def json_reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    h = {"Content-Type": JSON_TYPE}
    h.update(headers or {})
    return status, h, b"" if body is None else json.dumps(body).encode()


def xml_reply(status: int, body: bytes) -> Reply:
    return status, {"Content-Type": XML_TYPE}, body


def error_reply(err: ApiError) -> Reply:
    return json_reply(err.status, err.as_json())


def rest_error(status: int, code: str, message: str) -> Reply:
    """A REST error naming no field; a 401 INVALID_SESSION_ID also says how to authenticate
    (``WWW-Authenticate: Token``, as Salesforce sends it)."""
    headers = {"WWW-Authenticate": "Token"} if code == "INVALID_SESSION_ID" else {}
    return json_reply(status, [{"message": message, "errorCode": code}], headers)


def not_found_reply() -> Reply:
    """What Salesforce answers for a resource it does not serve."""
    return json_reply(404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
