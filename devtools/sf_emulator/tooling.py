"""Tooling API ``executeAnonymous`` — for the one shape of anonymous Apex the emulator runs: a
named-credential callout probe. Any other Apex gets a compile problem saying it is not emulated (this is
not an Apex interpreter).

``GET /services/data/vXX.X/tooling/executeAnonymous/?anonymousBody=<urlencoded Apex>`` (Tooling API guide,
"REST Resources": executeAnonymous) answers an ``ExecuteAnonymousResult`` (SOAP API guide,
"ExecuteAnonymousResult"): ``line``, ``column``, ``compiled``, ``success``, ``compileProblem``,
``exceptionStackTrace``, ``exceptionMessage``. When ``compiled`` is false, line/column/compileProblem say
where and why; when ``success`` is false, exceptionMessage/exceptionStackTrace say what was thrown. A
success is ``{"line":-1,"column":-1,"compiled":true,"success":true,"compileProblem":null,
"exceptionStackTrace":null,"exceptionMessage":null}``. For a runtime failure the emulator also answers
line/column -1 (the guide gives them a meaning only for compile failures).

The emulated probe (whitespace between statements is free)::

    HttpRequest req = new HttpRequest();
    req.setEndpoint('callout:<NamedCredential>/<path>');
    req.setMethod('GET');
    HttpResponse res = new Http().send(req);
    System.assertEquals(200, res.getStatusCode(), res.getBody().left(<n>));

The callout goes through the stored named credential, as Salesforce sends it (Apex Developer Guide, "Named
Credentials as Callout Endpoints": the named credential's URL, then the path): ``Password`` sends HTTP Basic
``username:password`` (the fake Aircall under ``/aircall/`` checks it); ``Oauth`` sends the token the admin's
browser authorize step stored (``/__emulator/named-credentials/{name}/authorize``) to this org's REST API as
the user it was authorized as, and has none before that step or after ``.../revoke``.

What Salesforce answers, and where the text comes from:

* a failed ``System.assertEquals(expected, actual, msg)``: ``System.AssertException: Assertion Failed: <msg>:
  Expected: 200, Actual: 401`` (the form of Apex test failures recorded in forcedotcom/salesforcedx-apex's
  test fixtures, ``Assertion Failed: Expected: false, Actual: true``, with the message in front as Apex
  puts it); stack trace ``AnonymousBlock: line <n>, column 1``.
* a named credential that does not exist: ``System.CalloutException: The callout couldn't access the
  endpoint. You might not have the required permissions, or the named credential "<name>" might not exist.``
  (as quoted in public troubleshooting notes of projects calling ``callout:`` endpoints).
* an OAuth named credential without a usable token: Salesforce documents ``System.CalloutException: Unable to
  fetch the OAuth token`` for a named credential whose token cannot be obtained (Salesforce Help 002471436),
  and callouts recorded in public projects show it followed by the token endpoint's answer
  (``Unable to fetch the OAuth token. Error: invalid_request. Error description: ...``). For a revoked token,
  the refresh-token grant answers ``invalid_grant`` / ``expired access/refresh token`` (OAuth token endpoint);
  for a credential never authorized there is no token to refresh. The exact texts Salesforce gives a LEGACY
  named credential in these two cases were not found in any public source: these are our best reading.
* a callout to a host the emulator cannot reach: ``System.CalloutException: Unable to tunnel through proxy.
  Proxy returns "HTTP/1.1 503 Service Unavailable"`` (Salesforce's answer when its callout proxy cannot reach
  the host, often quoted on Salesforce StackExchange).
* a user without "Author Apex" (setting ``author_apex: false``): Salesforce's exact REST reply was not found;
  the emulator refuses the request as the REST API refuses a user's missing permission, 403 (REST API guide,
  "Status Codes and Error Responses": "The request has been refused. Verify that the logged-in user has
  appropriate permissions.") with the API fault code INSUFFICIENT_ACCESS.
"""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import urlsplit

from . import aircall
from . import metadata_types as mt
from .context import Context, Request
from .replies import Reply, json_reply
from .store import ApiError, Org

OPERATION = "tooling.executeAnonymous"
NC_REVOKED = "Revoked"

_PATH = re.compile(r"^/services/data/v\d+\.\d/tooling/executeAnonymous/?$")
_PROBE = re.compile(
    r"^\s*HttpRequest req = new HttpRequest\(\);"
    r"\s*req\.setEndpoint\('callout:(?P<name>[A-Za-z][A-Za-z0-9_]*)(?P<path>/[^'\s]*)'\);"
    r"\s*req\.setMethod\('GET'\);"
    r"\s*(?P<send>HttpResponse res = new Http\(\)\.send\(req\);)"
    r"\s*(?P<assert>System\.assertEquals\(200, res\.getStatusCode\(\), "
    r"res\.getBody\(\)\.left\((?P<n>\d+)\)\);)"
    r"\s*$"
)


def route(path: str) -> str | None:
    """The counter/fault operation of a Tooling request we answer, else None."""
    return OPERATION if _PATH.match(path) else None


def result(
    *,
    compiled: bool = True,
    success: bool = True,
    line: int = -1,
    column: int = -1,
    compile_problem: str | None = None,
    exception_message: str | None = None,
    stack_trace: str | None = None,
) -> dict[str, Any]:
    return {
        "line": line,
        "column": column,
        "compiled": compiled,
        "success": success,
        "compileProblem": compile_problem,
        "exceptionStackTrace": stack_trace,
        "exceptionMessage": exception_message,
    }


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def handle(ctx: Context, request: Request) -> Reply:
    method = request.method
    if method != "GET":
        return json_reply(
            405,
            [
                {
                    "errorCode": "METHOD_NOT_ALLOWED",
                    "message": f"HTTP Method '{method}' not allowed. Allowed are GET,HEAD",
                }
            ],
        )
    if not ctx.org.settings.get("author_apex", True):
        return json_reply(
            403,
            [
                {
                    "errorCode": "INSUFFICIENT_ACCESS",
                    "message": "insufficient access rights: executing anonymous Apex needs the Author Apex "
                    "permission",
                }
            ],
        )
    apex = request.query.get("anonymousBody", "")
    match = _PROBE.match(apex)
    if match is None:
        return json_reply(
            200,
            result(
                compiled=False,
                success=False,
                line=1,
                column=1,
                compile_problem="Not emulated: this Salesforce emulator runs only the named-credential "
                "callout probe (HttpRequest to callout:<name>/<path>, GET, assert status 200); any other "
                "anonymous Apex is not interpreted.",
            ),
        )
    send_line = _line_of(apex, match.start("send"))
    assert_line = _line_of(apex, match.start("assert"))
    outcome = _callout(ctx, match.group("name"), match.group("path"))
    if isinstance(outcome, str):
        return json_reply(
            200,
            result(
                success=False,
                exception_message=f"System.CalloutException: {outcome}",
                stack_trace=f"AnonymousBlock: line {send_line}, column 1",
            ),
        )
    status, body = outcome
    if status == 200:
        return json_reply(200, result())
    detail = body[: int(match.group("n"))]
    return json_reply(
        200,
        result(
            success=False,
            exception_message=f"System.AssertException: Assertion Failed: {detail}: Expected: 200, "
            f"Actual: {status}",
            stack_trace=f"AnonymousBlock: line {assert_line}, column 1",
        ),
    )


def _callout(ctx: Context, name: str, path: str) -> tuple[int, str] | str:
    """The callout's (status, body), or the CalloutException's message."""
    record = ctx.org.metadata_get("NamedCredential", name)
    if record is None:
        return (
            "The callout couldn't access the endpoint. You might not have the required permissions, or the "
            f'named credential "{name}" might not exist.'
        )
    url = str(record.get("endpoint") or "").rstrip("/") + path
    headers: dict[str, str] = {}
    as_user: str | None = None
    protocol = record.get("protocol") or "NoAuthentication"
    if protocol == "Password" and record.get("generateAuthorizationHeader", True):
        pair = f"{record.get('username') or ''}:{record.get('password') or ''}"
        headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    elif protocol == "Oauth":
        status = record.get("_authenticationStatus")
        if status == NC_REVOKED:
            return (
                "Unable to fetch the OAuth token. Error: invalid_grant. Error description: expired "
                "access/refresh token."
            )
        if status != mt.NC_AUTHENTICATED:
            return "Unable to fetch the OAuth token"
        as_user = str(record.get("_authenticatedAs") or "")
    own = urlsplit(ctx.instance_url)
    target = urlsplit(url)
    if (target.scheme, target.netloc) != (own.scheme, own.netloc):
        return 'Unable to tunnel through proxy. Proxy returns "HTTP/1.1 503 Service Unavailable"'
    if target.path.startswith("/aircall/"):
        status, _headers, body = aircall.handle(ctx, Request("GET", target.path, {}, headers, b""))
        return status, body.decode()
    if target.path.startswith("/services/data/"):
        return _org_rest(ctx, target.path, as_user)
    return 404, '[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]'


def _org_rest(ctx: Context, path: str, username: str | None) -> tuple[int, str]:
    """A callout to this org's REST API with the named credential's token: valid while the user it was
    authorized as is active (deactivating a user ends its sessions)."""
    users = ctx.org.sobject_find("User", Username=username) if username else []
    if not users or not users[0].get("IsActive", True):
        return 401, '[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]'
    status, _headers, body = ctx.rest.handle("GET", path, {}, {}, b"", ctx.api_usage())
    return status, body.decode()


def revoke_named_credential(org: Org, full_name: str) -> None:
    """Revoke an OAuth named credential's token, as an admin revoking the integration user's OAuth
    connection, or a sandbox refresh, does: callouts then cannot get a token until it is authorized again."""
    with org.transaction():
        record = org.metadata_get("NamedCredential", full_name)
        if record is None:
            raise ApiError(404, "NOT_FOUND", f"No named credential named {full_name}")
        if record.get("protocol") != "Oauth":
            raise ApiError(400, "INVALID_OPERATION", f"named credential {full_name} does not use OAuth")
        record["_authenticationStatus"] = NC_REVOKED
        org.metadata_put("NamedCredential", record["fullName"], record)
