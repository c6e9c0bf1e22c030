"""The emulator's HTTPS server: routing, session checks, call counting, faults, latency, daily API limit.

One threaded HTTP/1.1 server (keep-alive, so a client's round-trip is one request on a warm TLS connection) on
127.0.0.1, certificate from a local trustme CA kept in the state dir so restarts reuse it.
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib
import json
import socket
import ssl
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import auth, rest
from .rest import Reply, json_reply
from .store import ApiError, Org

FAULT_KINDS = (
    "latency",
    "http_503",
    "unable_to_lock_row",
    "request_limit_exceeded",
    "invalid_session_id",
    "reset_before",
    "reply_lost",
)


# ---- certificates ------------------------------------------------------------------------------------------


def ensure_certificates(state_dir: Path) -> tuple[Path, Path, Path]:
    """(ca.pem, server cert chain, server key), created once and reused, so clients can pin ca.pem."""
    ca_pem, chain, key = state_dir / "ca.pem", state_dir / "server.pem", state_dir / "server.key"
    if not (ca_pem.exists() and chain.exists() and key.exists()):
        import trustme

        ca = trustme.CA(organization_name="eci-aircall emulator CA")
        cert = ca.issue_cert("127.0.0.1", "localhost")
        tmp = state_dir / ".certs.tmp"
        tmp.mkdir(exist_ok=True)
        ca.cert_pem.write_to_path(str(tmp / "ca.pem"))
        cert.private_key_pem.write_to_path(str(tmp / "server.key"))
        with open(tmp / "server.pem", "wb") as fh:
            for blob in cert.cert_chain_pems:
                fh.write(blob.bytes())
        # Key and chain first, CA last: ca.pem existing means the set is complete.
        (tmp / "server.key").replace(key)
        (tmp / "server.pem").replace(chain)
        (tmp / "ca.pem").replace(ca_pem)
        tmp.rmdir()
    return ca_pem, chain, key


# ---- counters and faults ---------------------------------------------------------------------------------


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_operation: dict[str, int] = {}
            self.writes = 0
            self.writes_by_operation: dict[str, int] = {}

    @staticmethod
    def is_api(operation: str) -> bool:
        # The fake Aircall API and the test controls are not Salesforce API calls.
        return not operation.startswith(("aircall.", "controls."))

    def count(self, operation: str) -> int:
        """Record one call; returns the Salesforce API call total afterwards."""
        with self._lock:
            self.by_operation[operation] = self.by_operation.get(operation, 0) + 1
            if self.is_api(operation):
                self.total += 1
            return self.total

    def write(self, operation: str) -> None:
        with self._lock:
            self.writes += 1
            self.writes_by_operation[operation] = self.writes_by_operation.get(operation, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "by_operation": dict(self.by_operation),
                "writes": self.writes,
                "writes_by_operation": dict(self.writes_by_operation),
            }


@dataclass
class Fault:
    kind: str
    operation: str = "*"
    name: str | None = None
    count: int = 1
    latency_ms: int = 0
    id: int = 0
    fired: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "operation": self.operation,
            "name": self.name,
            "count": self.count,
            "latency_ms": self.latency_ms,
            "fired": self.fired,
        }


class Faults:
    """Injected faults: each applies to the next `count` calls matching its operation pattern and name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Fault] = []
        self._next = 1

    def add(self, spec: dict[str, Any]) -> Fault:
        kind = str(spec.get("kind", ""))
        if kind not in FAULT_KINDS:
            raise ApiError(400, "INVALID_FAULT", f"kind must be one of {', '.join(FAULT_KINDS)}")
        unknown = set(spec) - {"kind", "operation", "name", "count", "latency_ms"}
        if unknown:
            raise ApiError(400, "INVALID_FAULT", f"unknown fault field(s): {', '.join(sorted(unknown))}")
        count = int(spec.get("count", 1))
        if count < 1:
            raise ApiError(400, "INVALID_FAULT", "count must be >= 1")
        with self._lock:
            f = Fault(
                kind=kind,
                operation=str(spec.get("operation") or "*"),
                name=spec.get("name"),
                count=count,
                latency_ms=int(spec.get("latency_ms", 0)),
                id=self._next,
            )
            self._next += 1
            self._items.append(f)
            return f

    def take(self, operation: str, names: list[str]) -> list[Fault]:
        """The faults that fire for this call (consuming one of each one's count)."""
        lowered = {n.lower() for n in names}
        fired: list[Fault] = []
        with self._lock:
            for f in list(self._items):
                if not fnmatch.fnmatchcase(operation, f.operation):
                    continue
                if f.name is not None and f.name.lower() not in lowered:
                    continue
                f.count -= 1
                f.fired += 1
                fired.append(f)
                if f.count <= 0:
                    self._items.remove(f)
        return fired

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.as_dict() for f in self._items]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def optional_module(name: str) -> ModuleType | None:
    """The metadata engineer's modules, imported on first use so the server runs before they exist."""
    try:
        return importlib.import_module(f"devtools.sf_emulator.{name}")
    except ModuleNotFoundError as e:
        if e.name == f"devtools.sf_emulator.{name}":
            return None
        raise


# ---- the server ------------------------------------------------------------------------------------------


@dataclass
class Call:
    """What the router knows about one request before it runs."""

    operation: str
    surface: str  # rest, connect, tooling, metadata, partner, oauth, userinfo, identity, aircall, controls
    names: list[str] = field(default_factory=list)
    session: str | None = None  # the token presented (None: no session needed)
    needs_session: bool = True


class Emulator:
    def __init__(
        self,
        state_dir: str | Path,
        port: int = 0,
        latency_ms: int = 0,
        settings: dict[str, Any] | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.ca_pem, chain, key = ensure_certificates(self.state_dir)
        self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl_context.load_cert_chain(str(chain), str(key))
        self.httpd = _Server(("127.0.0.1", port), _Handler, self)
        self.port = self.httpd.server_address[1]
        self.instance_url = f"https://127.0.0.1:{self.port}"
        self.org = Org(self.state_dir, self.instance_url)
        self.org.refresh_admin_session()
        if settings:
            self.org.apply_settings(settings)
        self.latency_ms = latency_ms
        self.counters = Counters()
        self.faults = Faults()
        self.cursors = rest.Cursors()
        self.rest = rest.Rest(self.org, self.cursors)
        self.aircall_window: list[float] = []
        self.aircall_lock = threading.Lock()

    def info(self) -> dict[str, Any]:
        return {
            "instance_url": self.instance_url,
            "access_token": self.org.admin_token(),
            "username": self.org.sobject_get("User", self.org.admin_user_id())["Username"],  # type: ignore[index]
            "password": self.org.admin_password(),
            "ca_cert": str(self.ca_pem),
            "aircall_url": f"{self.instance_url}/aircall/v1",
            "aircall_api_id": self.org.meta("aircall_api_id"),
            "aircall_api_token": self.org.meta("aircall_api_token"),
        }

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def shutdown(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.org.close()

    def reset(self) -> None:
        self.org.reset()
        self.counters.reset()
        self.faults.clear()
        self.cursors.clear()
        with self.aircall_lock:
            self.aircall_window.clear()

    # ---- routing ---------------------------------------------------------------------------------------
    def classify(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Call | None:
        bearer = _bearer(headers)
        if path.startswith("/__emulator/"):
            return Call("controls." + path[len("/__emulator/") :].split("/")[0], "controls", session=bearer)
        if path.startswith("/aircall/"):
            return Call("aircall." + path.rstrip("/").rsplit("/", 1)[-1], "aircall", needs_session=False)
        if path.startswith("/services/Soap/m/"):
            mod = optional_module("metadata_api")
            if mod is None:
                return Call("metadata.unavailable", "metadata", needs_session=False)
            try:
                mc = mod.peek(body)
            except Exception:
                return Call("metadata.invalid", "metadata", needs_session=False)
            return Call(
                f"metadata.{mc.operation}", "metadata", list(mc.names or []), session=mc.session_id or ""
            )
        if path.startswith("/services/Soap/u/"):
            op, sid = auth.partner_call(body)
            if op == "login":
                return Call("auth.soap_login", "partner", needs_session=False)
            return Call(f"partner.{op}", "partner", session=sid or "")
        if path.rstrip("/") == "/services/oauth2/token":
            return Call("auth.oauth_token", "oauth", needs_session=False)
        if path.rstrip("/") == "/services/oauth2/userinfo":
            return Call("auth.userinfo", "userinfo", session=bearer or "")
        if path.rstrip("/") == "/services/oauth2/revoke":
            return Call("auth.revoke", "oauth", needs_session=False)
        if path.startswith("/id/"):
            return Call("auth.identity", "identity", session=bearer or query.get("oauth_token") or "")
        if path.startswith("/services/data"):
            from . import tooling

            if tooling.route(method, path):
                return Call(tooling.OPERATION, "tooling", session=bearer or "")
            r = rest.route(method, path, query)
            if r is None:
                return None
            surface = "connect" if r.operation.startswith("connect.") else "rest"
            return Call(r.operation, surface, r.names, session=bearer or "", needs_session=r.needs_session)
        return None

    def error(self, call: Call, status: int, code: str, message: str) -> Reply:
        """An error in the form the call's API uses."""
        if call.surface == "metadata":
            mod = optional_module("metadata_api")
            if mod is not None:
                return (
                    status,
                    {"Content-Type": "text/xml;charset=UTF-8"},
                    mod.soap_fault(f"sf:{code}", message),
                )
            return status, {"Content-Type": "text/xml;charset=UTF-8"}, auth.partner_fault(code, message)
        if call.surface == "partner":
            return status, {"Content-Type": "text/xml;charset=UTF-8"}, auth.partner_fault(code, message)
        if call.surface == "oauth":
            return json_reply(status, {"error": code.lower(), "error_description": message})
        headers = {"WWW-Authenticate": "Token"} if code == "INVALID_SESSION_ID" else {}
        return json_reply(status, [{"message": message, "errorCode": code}], headers)

    def run(
        self,
        call: Call,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
        user_id: str | None,
    ) -> Reply:
        org = self.org
        if call.surface == "rest":
            limit = int(org.settings.get("daily_api_limit", 100000))
            usage = (self.counters.total, limit)
            return self.rest.handle(method, path, query, headers, body, usage, user_id)
        if call.surface == "connect":
            mod = optional_module("connect")
            if mod is None:
                return json_reply(
                    404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
                )
            status, payload = mod.handle(org, method, path, query)
            return json_reply(status, payload)
        if call.surface == "metadata":
            mod = optional_module("metadata_api")
            if mod is None:
                return self.error(
                    call, 500, "UNKNOWN_EXCEPTION", "Metadata API not available in this emulator"
                )
            if call.operation == "metadata.invalid":
                return (
                    500,
                    {"Content-Type": "text/xml;charset=UTF-8"},
                    mod.soap_fault("soapenv:Client", "Unable to parse the request"),
                )
            status, envelope = mod.handle(org, body)
            return status, {"Content-Type": "text/xml;charset=UTF-8"}, envelope
        if call.surface == "partner":
            return auth.soap_partner(org, body, user_id)
        if call.operation == "auth.revoke":
            return auth.revoke(org, body, query)
        if call.surface == "oauth":
            return auth.oauth_token(org, body, query)
        if call.surface == "identity":
            assert user_id is not None
            return auth.identity(org, user_id, path)
        if call.surface == "userinfo":
            assert user_id is not None
            return auth.userinfo(org, user_id)
        if call.surface == "tooling":
            from . import tooling

            return tooling.handle(self, method, query, user_id)
        if call.surface == "aircall":
            from . import aircall

            return aircall.handle(self, method, path, headers)
        from . import controls

        return controls.handle(self, method, path, query, body)


def _bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    for scheme in ("Bearer ", "OAuth "):
        if value.startswith(scheme):
            return value[len(scheme) :].strip()
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self, addr: tuple[str, int], handler: type[BaseHTTPRequestHandler], emulator: Emulator
    ) -> None:
        self.emulator = emulator
        super().__init__(addr, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS handshake in the connection's own thread, so one slow client never stalls accept().
        # No Nagle: a reply must not wait for the client's delayed ACK (that costs ~40 ms per round-trip).
        with contextlib.suppress(OSError):
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.emulator.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)  # type: ignore[arg-type]
        finally:
            with contextlib.suppress(OSError):
                tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Aborted(Exception):
    pass


class _BadRequest(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    # Idle keep-alive connections are closed after a while so threads do not pile up.
    timeout = 120

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from the base class
        # Quiet: request lines can carry tokens in query strings; nothing is logged.
        return

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def _abort(self) -> None:
        """Drop the connection with a TCP reset and no response (the client sees a connection error)."""
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            self.rfile.close()
        with contextlib.suppress(OSError):
            self.connection.close()
        self.rfile = BytesIO()
        self.wfile = BytesIO()
        self.close_connection = True

    def send_response(self, code: int, message: str | None = None) -> None:
        # Salesforce sends a Date header but no Server banner; BaseHTTPRequestHandler would add
        # "Server: BaseHTTP/0.6 Python/3.x", a tell no real org has.
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def _read_body(self, headers: dict[str, str]) -> bytes:
        """The request body, whichever HTTP/1.1 framing the client chose (RFC 9112 section 6).

        Node clients (jsforce and the Salesforce CLI built on it) send `Transfer-Encoding: chunked` bodies;
        a body left unread would also be parsed as the next request on the keep-alive connection.
        """
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        length = int(headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        # RFC 9112 section 7.1: chunk-size [; ext] CRLF data CRLF ... 0 CRLF [trailers] CRLF
        parts: list[bytes] = []
        while True:
            line = self.rfile.readline(65537)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _BadRequest("invalid chunk size") from None
            if size == 0:
                break
            parts.append(self.rfile.read(size))
            self.rfile.readline(3)  # the CRLF closing the chunk
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass  # trailer fields: none matter here
        return b"".join(parts)

    def _send(self, reply: Reply, head_only: bool = False) -> None:
        status, headers, body = reply
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        # Headers and body leave in one write (one TLS record where it fits).
        buffer: list[bytes] = self._headers_buffer  # type: ignore[attr-defined]
        buffer.append(b"\r\n")
        if body and not head_only:
            buffer.append(body)
        self.flush_headers()

    def _dispatch(self, method: str) -> None:
        emu = self.server.emulator
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body = self._read_body(headers)
        except _BadRequest as e:
            self.close_connection = True
            self._send(json_reply(400, [{"errorCode": "BAD_REQUEST", "message": str(e)}]))
            return
        call = emu.classify(method, path, query, headers, body)
        if call is None:
            self._send(
                json_reply(
                    404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
                )
            )
            return
        if call.surface == "controls":
            emu.counters.count(call.operation)
            if call.session != emu.org.admin_token():
                self._send(json_reply(401, {"error": "controls need the emulator's access token as bearer"}))
                return
            self._send(emu.run(call, method, path, query, headers, body, None))
            return

        fired = emu.faults.take(call.operation, call.names)
        kinds = {f.kind for f in fired}
        if "reset_before" in kinds:
            self._abort()
            return
        total = emu.counters.count(call.operation)
        delay = emu.latency_ms + int(emu.org.settings.get("latency_ms", 0) or 0)
        delay += sum(f.latency_ms for f in fired if f.kind == "latency")
        if delay:
            time.sleep(delay / 1000)

        user_id: str | None = None
        if call.needs_session:
            user_id = emu.org.session_user(call.session or "") if call.session else None
            if user_id is None or "invalid_session_id" in kinds:
                self._send(self._invalid_session(emu, call))
                return
        if (
            Counters.is_api(call.operation)
            and total > int(emu.org.settings.get("daily_api_limit", 100000))
            or "request_limit_exceeded" in kinds
        ):
            # REST API Developer Guide, "Status Codes and Error Responses": 403 REQUEST_LIMIT_EXCEEDED.
            self._send(
                emu.error(
                    call,
                    403 if call.surface not in ("metadata", "partner") else 500,
                    "REQUEST_LIMIT_EXCEEDED",
                    "TotalRequests Limit exceeded.",
                )
            )
            return
        if "http_503" in kinds:
            self._send(
                (
                    503,
                    {"Content-Type": "text/html"},
                    b"<html><body><h1>503 Service Unavailable</h1></body></html>",
                )
            )
            return
        if "unable_to_lock_row" in kinds:
            self._send(
                emu.error(
                    call,
                    400 if call.surface not in ("metadata", "partner") else 500,
                    "UNABLE_TO_LOCK_ROW",
                    "unable to obtain exclusive access to this record",
                )
            )
            return

        emu.org.begin_request()
        emu.org.set_request_user(user_id)
        try:
            reply = emu.run(call, method, path, query, headers, body, user_id)
        except ApiError as e:
            reply = emu.error(call, e.status, e.error_code, e.message)
        except Exception:
            # An emulator bug: answer as Salesforce answers its own (500 UNKNOWN_EXCEPTION) and keep the
            # traceback on stderr for whoever debugs it.
            import traceback

            traceback.print_exc()
            reply = emu.error(call, 500, "UNKNOWN_EXCEPTION", "An unexpected error occurred.")
        finally:
            emu.org.set_request_user(None)
        if emu.org.request_writes():
            emu.counters.write(call.operation)
        if "reply_lost" in kinds:
            # The change is committed; the client never hears about it.
            self._abort()
            return
        if call.surface in ("rest", "connect", "tooling"):
            # REST API Developer Guide, "Limit Info Header": every REST reply carries
            # "Sforce-Limit-Info: api-usage=<used>/<daily limit>".
            limit = int(emu.org.settings.get("daily_api_limit", 100000))
            status, reply_headers, reply_body = reply
            reply = status, {**reply_headers, "Sforce-Limit-Info": f"api-usage={total}/{limit}"}, reply_body
        self._send(reply, head_only=method == "HEAD")

    @staticmethod
    def _invalid_session(emu: Emulator, call: Call) -> Reply:
        if call.surface in ("metadata", "partner"):
            return emu.error(
                call, 500, "INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session"
            )
        # REST: 401 [{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]
        return emu.error(call, 401, "INVALID_SESSION_ID", "Session expired or invalid")


def warm_up() -> None:
    """Import the heavy Metadata modules in the background, so the first Metadata call is fast too."""
    mod = optional_module("metadata_api")
    fn = getattr(mod, "warm_up", None) if mod is not None else None
    if callable(fn):
        fn()


def serve(
    state_dir: str | Path, port: int = 0, latency_ms: int = 0, settings_file: str | None = None
) -> None:
    import signal

    settings = json.loads(Path(settings_file).read_text()) if settings_file else None
    emu = Emulator(state_dir, port=port, latency_ms=latency_ms, settings=settings)

    def stop(signum: int, frame: Any) -> None:
        # shutdown() waits for serve_forever, which runs on this (the main) thread: call it from another.
        threading.Thread(target=emu.httpd.shutdown, daemon=True).start()

    # Handlers go in before the JSON line: whoever read the line may signal at once.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps(emu.info()), flush=True)
    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    emu.serve_forever()
    emu.httpd.server_close()
    emu.org.close()
