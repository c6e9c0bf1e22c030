"""The emulator's HTTPS server: routing, session checks, call counting, faults, latency, daily API limit.

One threaded HTTP/1.1 server (keep-alive, so a client's round-trip is one request on a warm TLS connection) on
127.0.0.1, certificate from a local trustme CA kept in the state dir so restarts reuse it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import routes
from .context import Context, Counters, Request
from .replies import Reply, json_reply, not_found_reply
from .store import ApiError, Org

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


# ---- the server ------------------------------------------------------------------------------------------


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
        self.ctx = Context(self.org)

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
        ctx = emu.ctx
        url = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body = self._read_body(headers)
        except _BadRequest as e:
            self.close_connection = True
            self._send(json_reply(400, [{"errorCode": "BAD_REQUEST", "message": str(e)}]))
            return
        request = Request(
            method, unquote(url.path), dict(parse_qsl(url.query, keep_blank_values=True)), headers, body
        )
        routed = routes.route(request)
        if routed is None:
            self._send(not_found_reply())
            return
        surface, call = routed
        if surface.control:
            ctx.counters.count(call.operation)
            if call.session != ctx.org.admin_token():
                self._send(json_reply(401, {"error": "controls need the emulator's access token as bearer"}))
                return
            self._send(surface.run(ctx, request, call, None))
            return

        fired = ctx.faults.take(call.operation, call.names)
        kinds = {f.kind for f in fired}
        if "reset_before" in kinds:
            self._abort()
            return
        total = ctx.counters.count(call.operation)
        delay = emu.latency_ms + int(ctx.org.settings.get("latency_ms", 0) or 0)
        delay += sum(f.latency_ms for f in fired if f.kind == "latency")
        if delay:
            time.sleep(delay / 1000)

        user_id: str | None = None
        if call.needs_session:
            user_id = ctx.org.session_user(call.session or "") if call.session else None
            if user_id is None or "invalid_session_id" in kinds:
                self._send(self._invalid_session(surface))
                return
        if (
            Counters.is_api(call.operation)
            and total > ctx.daily_api_limit()
            or "request_limit_exceeded" in kinds
        ):
            # REST API Developer Guide, "Status Codes and Error Responses": 403 REQUEST_LIMIT_EXCEEDED.
            status = 500 if surface.soap else 403
            self._send(surface.error(status, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))
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
            status = 500 if surface.soap else 400
            message = "unable to obtain exclusive access to this record"
            self._send(surface.error(status, "UNABLE_TO_LOCK_ROW", message))
            return

        ctx.org.begin_request()
        ctx.org.set_request_user(user_id)
        try:
            reply = surface.run(ctx, request, call, user_id)
        except ApiError as e:
            reply = surface.error(e.status, e.error_code, e.message)
        except Exception:
            # An emulator bug: answer as Salesforce answers its own (500 UNKNOWN_EXCEPTION) and keep the
            # traceback on stderr for whoever debugs it.
            import traceback

            traceback.print_exc()
            reply = surface.error(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred.")
        finally:
            ctx.org.set_request_user(None)
        if ctx.org.request_writes():
            ctx.counters.write(call.operation)
        if "reply_lost" in kinds:
            # The change is committed; the client never hears about it.
            self._abort()
            return
        if surface.limit_info:
            # REST API Developer Guide, "Limit Info Header": every REST reply carries
            # "Sforce-Limit-Info: api-usage=<used>/<daily limit>".
            status, reply_headers, reply_body = reply
            limit_info = f"api-usage={total}/{ctx.daily_api_limit()}"
            reply = status, {**reply_headers, "Sforce-Limit-Info": limit_info}, reply_body
        self._send(reply, head_only=method == "HEAD")

    @staticmethod
    def _invalid_session(surface: routes.Surface) -> Reply:
        if surface.soap:
            return surface.error(
                500, "INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session"
            )
        # REST: 401 [{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]
        return surface.error(401, "INVALID_SESSION_ID", "Session expired or invalid")


def warm_up() -> None:
    """Import the heavy Metadata modules in the background, so the first Metadata call is fast too."""
    from . import metadata_api

    metadata_api.warm_up()


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
