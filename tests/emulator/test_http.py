"""HTTP as Salesforce speaks it, seen on the wire: request framing, headers, the 405 wording."""

from __future__ import annotations

import json
import socket
import ssl
from typing import Any

from devtools.sf_emulator.client import EmulatorHandle

PARTNER_LOGIN = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Body>'
    '<login xmlns="urn:partner.soap.sforce.com"><username>{u}</username><password>{p}</password></login>'
    "</se:Body></se:Envelope>"
)


class Wire:
    """One keep-alive TLS connection, raw bytes each way (no client library smoothing anything over)."""

    def __init__(self, org: EmulatorHandle) -> None:
        host, port = org.instance_url.removeprefix("https://").split(":")
        ctx = ssl.create_default_context(cafile=org.ca_cert)
        raw = socket.create_connection((host, int(port)), timeout=10)
        self.sock = ctx.wrap_socket(raw, server_hostname=host)
        self.file = self.sock.makefile("rb")

    def send(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        self.sock.sendall(raw)
        status = int(self.file.readline().split()[1])
        headers: dict[str, str] = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self.file.read(int(headers.get("content-length", 0)))
        return status, headers, body

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def _chunked(body: bytes, size: int = 7) -> bytes:
    out = b""
    for i in range(0, len(body), size):
        piece = body[i : i + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def test_a_chunked_soap_login_is_read_and_the_connection_stays_usable(org: EmulatorHandle) -> None:
    # jsforce (so the Salesforce CLI) posts SOAP logins and token requests with Transfer-Encoding: chunked.
    body = PARTNER_LOGIN.format(u=org.username, p=org.password).encode()
    wire = Wire(org)
    try:
        status, _, reply = wire.send(
            b"POST /services/Soap/u/63.0 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml; charset=UTF-8\r\n"
            b"SOAPAction: login\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunked(body)
        )
        assert status == 200 and b"<sessionId>" in reply, reply
        # The same connection answers the next request: no unread bytes were left behind.
        status, _, reply = wire.send(b"GET /services/data HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 200 and json.loads(reply)[-1]["version"] == "63.0"
    finally:
        wire.close()


def test_a_chunked_body_with_extensions_and_trailers_is_read_whole(org: EmulatorHandle) -> None:
    body = PARTNER_LOGIN.format(u=org.username, p=org.password).encode()
    framed = f"{len(body):x};note=x\r\n".encode() + body + b"\r\n0\r\nX-Trailer: y\r\n\r\n"
    wire = Wire(org)
    try:
        status, _, reply = wire.send(
            b"POST /services/Soap/u/63.0 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + framed
        )
        assert status == 200 and b"<sessionId>" in reply
        status, _, _ = wire.send(b"GET /services/data HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 200
    finally:
        wire.close()


def _get(org: EmulatorHandle, path: str, method: str = "GET") -> tuple[int, dict[str, str], Any]:
    wire = Wire(org)
    try:
        status, headers, body = wire.send(
            f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {org.access_token}\r\n"
            "Content-Length: 0\r\n\r\n".encode()
        )
        return status, headers, json.loads(body) if body else None
    finally:
        wire.close()


def test_replies_carry_a_date_and_no_python_server_banner(org: EmulatorHandle) -> None:
    status, headers, _ = _get(org, "/services/data/v63.0/limits")
    assert status == 200
    assert "server" not in headers and "date" in headers


def test_rest_replies_carry_the_api_usage_in_sforce_limit_info(org: EmulatorHandle) -> None:
    # REST API Developer Guide, "Limit Info Header": Sforce-Limit-Info: api-usage=18/5000
    org.settings(daily_api_limit=5000)
    org.reset_calls()
    _, first, _ = _get(org, "/services/data/v63.0/limits")
    _, second, _ = _get(org, "/services/data/v63.0/limits")
    assert first["sforce-limit-info"] == "api-usage=1/5000"
    assert second["sforce-limit-info"] == "api-usage=2/5000"


def test_a_method_the_resource_does_not_take_is_405_naming_the_ones_it_does(org: EmulatorHandle) -> None:
    user = org.sf().query("SELECT Id FROM User LIMIT 1")["records"][0]["Id"]
    status, _, body = _get(org, f"/services/data/v63.0/sobjects/User/{user}", method="PUT")
    assert status == 405
    assert body == [
        {
            "errorCode": "METHOD_NOT_ALLOWED",
            "message": "HTTP Method 'PUT' not allowed. Allowed are GET,HEAD,PATCH,DELETE",
        }
    ]
    status, _, body = _get(org, "/services/data/v63.0/sobjects/User/describe", method="DELETE")
    assert (status, body[0]["message"]) == (405, "HTTP Method 'DELETE' not allowed. Allowed are GET,HEAD")


def test_a_get_is_never_refused_as_a_method_get_is_not_allowed(org: EmulatorHandle) -> None:
    user = org.sf().query("SELECT Id FROM User LIMIT 1")["records"][0]["Id"]
    status, _, body = _get(org, f"/services/data/v63.0/sobjects/User/{user}/Profile/extra")
    assert (status, body) == (
        404,
        [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
    )
