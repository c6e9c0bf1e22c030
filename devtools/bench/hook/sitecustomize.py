"""Benchmark-only call recorder, loaded into every Python process of a bench run via PYTHONPATH.

Active only when ECI_BENCH_CALL_LOG names a file. It records, for each HTTP request a process makes through
`requests` (simple-salesforce's REST and its zeep Metadata client both send through it), one JSON line with
the start/end time, method, path, SOAP operation and the URN of the resource whose provider call made it;
and one line per unary gRPC request served (engine monitor, provider host), for the start-up timeline.

The URN comes from a gRPC server interceptor: the dynamic provider host (`python -m pulumi.dynamic`) serves
Check/Diff/Create/Update/Read/Delete on a thread pool, and every one of those requests carries `urn`; the
interceptor keeps it in a `contextvars.ContextVar` for the duration of the call. A context variable, not a
thread-local: a provider that fans its calls out to worker threads in a copy of its context (Preflight does,
`contextvars.copy_context().run`) keeps them attributed to its resource; a thread-local left them with none.
The emulator only counts calls per operation, so this is how the bench learns calls *per resource*, which
the critical-path bound needs.
Nothing here changes behaviour: the wrapped functions are called unchanged and their results returned.
"""

from __future__ import annotations

import contextvars
import json
import os
import re
import threading
import time
from typing import Any
from urllib.parse import urlsplit

_LOG = os.environ.get("ECI_BENCH_CALL_LOG")
_SOAP_OP = re.compile(rb"<(?:[\w-]+:)?Body[^>]*>\s*<(?:[\w-]+:)?(\w+)")


def _install(log_path: str) -> None:
    import grpc
    import requests.adapters

    # (urn, gRPC method) of the provider request being served; a worker started in a copy of the context
    # sees the value its starter had.
    current: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
        "eci_bench_where", default=None
    )
    write_lock = threading.Lock()

    def record(entry: dict[str, Any]) -> None:
        line = json.dumps(entry) + "\n"
        with write_lock, open(log_path, "a", encoding="utf-8") as f:
            f.write(line)

    class UrnInterceptor(grpc.ServerInterceptor):
        def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
            handler = continuation(handler_call_details)
            if handler is None or handler.unary_unary is None:
                return handler
            inner = handler.unary_unary
            service, _, method = str(handler_call_details.method).strip("/").rpartition("/")

            def behaviour(request: Any, context: Any) -> Any:
                urn = getattr(request, "urn", "") or ""
                # reset(token) restores what was there: a pool thread keeps one context for every request.
                token = current.set((urn, method))
                t0 = time.time()
                try:
                    return inner(request, context)
                finally:
                    current.reset(token)
                    # gRPC requests too (engine monitor and provider host), for the start-up timeline.
                    record(
                        {"kind": "grpc", "pid": os.getpid(), "service": service, "grpc": method, "urn": urn}
                        | {"t0": t0, "t1": time.time()}
                    )

            return grpc.unary_unary_rpc_method_handler(
                behaviour,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )

    real_server = grpc.server

    def server(*args: Any, **kwargs: Any) -> Any:
        if len(args) >= 3:  # grpc.server(thread_pool, handlers, interceptors, ...) positionally
            args = (*args[:2], [*(args[2] or ()), UrnInterceptor()], *args[3:])
        else:
            kwargs["interceptors"] = [*(kwargs.get("interceptors") or ()), UrnInterceptor()]
        return real_server(*args, **kwargs)

    grpc.server = server

    class ClientRecorder(grpc.UnaryUnaryClientInterceptor):
        """The program's requests to the engine (the real CLI's monitor is Go, out of reach of the server
        interceptor): its first RegisterResource marks the program's start in the timeline."""

        def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
            t0 = time.time()
            try:
                return continuation(details, request)
            finally:
                service, _, method = str(details.method).strip("/").rpartition("/")
                if method == "RegisterResource":
                    record(
                        {"kind": "grpc", "side": "client", "pid": os.getpid(), "service": service}
                        | {"grpc": method, "urn": "", "t0": t0, "t1": time.time()}
                    )

    real_channel = grpc.insecure_channel

    def insecure_channel(*args: Any, **kwargs: Any) -> Any:
        return grpc.intercept_channel(real_channel(*args, **kwargs), ClientRecorder())

    grpc.insecure_channel = insecure_channel

    real_send = requests.adapters.HTTPAdapter.send

    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        urn, grpc_method = current.get() or ("", "")
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        match = _SOAP_OP.search(body[:4096]) if b"Envelope" in body[:512] else None
        entry: dict[str, Any] = {
            "kind": "http",
            "pid": os.getpid(),
            "thread": threading.get_ident(),
            "urn": urn,
            "grpc": grpc_method,
            "http": request.method,
            # Path only: query strings can carry SOQL literals, never needed here.
            "path": urlsplit(str(request.url)).path,
            "soap": match.group(1).decode() if match else "",
            "t0": time.time(),
        }
        status = 0
        try:
            response = real_send(self, request, *args, **kwargs)
            status = response.status_code
            return response
        finally:
            entry["t1"] = time.time()
            entry["status"] = status
            record(entry)

    requests.adapters.HTTPAdapter.send = send  # type: ignore[method-assign]


if _LOG:
    _install(_LOG)
