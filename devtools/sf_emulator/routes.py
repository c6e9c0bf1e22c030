"""The routing table: which API answers a path, the operation a request counts as, and how that API words an
error.

`ROUTES` maps a path prefix to the :class:`Surface` that serves it (the longest matching prefix wins). A
surface classifies the request into a :class:`Call` before anything runs (the counters, faults and session
check need its operation, names and token) and then runs it against the :class:`~.context.Context`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import aircall, auth, controls, rest, tooling
from .context import Context, Request
from .replies import Reply, json_reply, rest_error, xml_reply


@dataclass(frozen=True)
class Call:
    """What the router knows about one request before it runs."""

    operation: str
    names: list[str] = field(default_factory=list)
    session: str | None = None  # the token presented (None: none)
    needs_session: bool = True


@dataclass(frozen=True)
class Surface:
    """One API of the org (or the test controls): how to classify, run and refuse its requests."""

    name: str
    classify: Callable[[Request], Call | None]
    run: Callable[[Context, Request, Call, str | None], Reply]
    error: Callable[[int, str, str], Reply] = rest_error
    # SOAP APIs answer every fault with HTTP 500 (SOAP API Developer Guide, "API Fault Elements").
    soap: bool = False
    # REST replies carry "Sforce-Limit-Info: api-usage=<used>/<limit>" (REST API Developer Guide, "Limit Info
    # Header").
    limit_info: bool = False
    # The emulator's own controls: not a Salesforce API call, no faults, the admin token as bearer.
    control: bool = False


def bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    for scheme in ("Bearer ", "OAuth "):
        if value.startswith(scheme):
            return value[len(scheme) :].strip()
    return None


# ---- test controls and the fake Aircall -------------------------------------------------------------------


def _controls_call(request: Request) -> Call:
    head = request.path[len("/__emulator/") :].split("/")[0]
    return Call("controls." + head, session=bearer(request.headers), needs_session=False)


def _controls_error(status: int, code: str, message: str) -> Reply:
    return json_reply(status, {"error": code, "message": message})


CONTROLS = Surface(
    "controls",
    _controls_call,
    lambda ctx, request, call, user_id: controls.handle(ctx, request),
    _controls_error,
    control=True,
)

AIRCALL = Surface(
    "aircall",
    lambda request: Call(aircall.operation(request), needs_session=False),
    lambda ctx, request, call, user_id: aircall.handle(ctx, request),
)


# ---- Metadata SOAP API ------------------------------------------------------------------------------------
# metadata_api is imported on first use: it loads lxml and the WSDL, which only Metadata calls need (the
# server's warm-up thread imports it in the background right after start).


def _metadata_call(request: Request) -> Call:
    from . import metadata_api

    try:
        mc = metadata_api.peek(request.body)
    except Exception:
        return Call("metadata.invalid", needs_session=False)
    return Call(f"metadata.{mc.operation}", list(mc.names or []), session=mc.session_id or "")


def _metadata_run(ctx: Context, request: Request, call: Call, user_id: str | None) -> Reply:
    from . import metadata_api

    if call.operation == "metadata.invalid":
        return xml_reply(500, metadata_api.soap_fault("soapenv:Client", "Unable to parse the request"))
    return xml_reply(*metadata_api.handle(ctx.org, request.body))


def _metadata_error(status: int, code: str, message: str) -> Reply:
    from . import metadata_api

    return xml_reply(status, metadata_api.soap_fault(f"sf:{code}", message))


METADATA = Surface("metadata", _metadata_call, _metadata_run, _metadata_error, soap=True)


# ---- partner SOAP API, OAuth, identity ---------------------------------------------------------------------


def _partner_call(request: Request) -> Call:
    op, sid = auth.partner_call(request.body)
    if op == "login":
        return Call("auth.soap_login", needs_session=False)
    return Call(f"partner.{op}", session=sid or "")


PARTNER = Surface(
    "partner",
    _partner_call,
    lambda ctx, request, call, user_id: auth.soap_partner(ctx.org, request.body, user_id),
    lambda status, code, message: xml_reply(status, auth.partner_fault(code, message)),
    soap=True,
)


def _oauth_call(request: Request) -> Call | None:
    endpoint = request.path.rstrip("/")
    if endpoint == "/services/oauth2/token":
        return Call("auth.oauth_token", needs_session=False)
    if endpoint == "/services/oauth2/revoke":
        return Call("auth.revoke", needs_session=False)
    return None


def _oauth_run(ctx: Context, request: Request, call: Call, user_id: str | None) -> Reply:
    if call.operation == "auth.revoke":
        return auth.revoke(ctx.org, request.body, request.query)
    return auth.oauth_token(ctx.org, request.body, request.query)


OAUTH = Surface(
    "oauth",
    _oauth_call,
    _oauth_run,
    # OAuth 2.0 errors are {"error", "error_description"} (Salesforce Help, "OAuth 2.0 Authorization Errors").
    lambda status, code, message: json_reply(status, {"error": code.lower(), "error_description": message}),
)


def _userinfo_call(request: Request) -> Call | None:
    if request.path.rstrip("/") != "/services/oauth2/userinfo":
        return None
    return Call("auth.userinfo", session=bearer(request.headers) or "")


def _session_user(user_id: str | None) -> str:
    assert user_id is not None, "the server runs a call that needs a session only with its user"
    return user_id


USERINFO = Surface(
    "userinfo",
    _userinfo_call,
    lambda ctx, request, call, user_id: auth.userinfo(ctx.org, _session_user(user_id)),
)

IDENTITY = Surface(
    "identity",
    lambda request: Call(
        "auth.identity", session=bearer(request.headers) or request.query.get("oauth_token") or ""
    ),
    lambda ctx, request, call, user_id: auth.identity(ctx.org, _session_user(user_id), request.path),
)


# ---- /services/data: REST, Connect REST, Tooling -----------------------------------------------------------


def _data_call(request: Request) -> Call | None:
    token = bearer(request.headers) or ""
    if tooling.route(request.path):
        return Call(tooling.OPERATION, session=token)
    r = rest.route(request.method, request.path, request.query)
    if r is None:
        return None
    return Call(r.operation, r.names, session=token, needs_session=r.needs_session)


def _data_run(ctx: Context, request: Request, call: Call, user_id: str | None) -> Reply:
    if call.operation == tooling.OPERATION:
        return tooling.handle(ctx, request)
    if call.operation.startswith("connect."):
        # connect loads the Metadata type rules; imported on first use like metadata_api.
        from . import connect

        return json_reply(*connect.handle(ctx.org, request.method, request.path, request.query))
    return ctx.rest.handle(
        request.method, request.path, request.query, request.headers, request.body, ctx.api_usage(), user_id
    )


DATA = Surface("data", _data_call, _data_run, limit_info=True)


ROUTES: dict[str, Surface] = {
    "/__emulator/": CONTROLS,
    "/aircall/": AIRCALL,
    "/services/Soap/m/": METADATA,
    "/services/Soap/u/": PARTNER,
    "/services/oauth2/": OAUTH,
    "/services/oauth2/userinfo": USERINFO,
    "/id/": IDENTITY,
    "/services/data": DATA,
}


def route(request: Request) -> tuple[Surface, Call] | None:
    """The surface serving the request (longest matching prefix) and its call; None: nothing serves it."""
    prefixes = [p for p in ROUTES if request.path.startswith(p)]
    if not prefixes:
        return None
    surface = ROUTES[max(prefixes, key=len)]
    call = surface.classify(request)
    return None if call is None else (surface, call)
