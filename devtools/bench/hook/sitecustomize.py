"""Benchmark-only recorder, loaded into every Python process of a bench run via PYTHONPATH.

Active only when ECI_BENCH_CALL_LOG names a file. It writes JSON lines to that file:

- `process`, once per process as it starts: its pid, parent pid, role (the `-m` module or script name), when
  the kernel started it and its parent (`/proc/<pid>/stat` start time, 10 ms resolution), and when Python had
  finished its own start-up (this module runs from `site`). The provider plugin's parent is the `pulumi` CLI,
  so its line also dates the CLI's start. And `exit` with the process's CPU seconds when it exits normally.
- `http`, per HTTP request made through `requests` (simple-salesforce's REST and its zeep Metadata client
  both send through it): start/end time, method, path, SOAP operation, and the URN of the resource whose
  provider call made it.
- `grpc`, per unary gRPC request served (the language host's `Run`, the provider host's Check/Create/...) or
  sent by the program (`RegisterResource`), with the process's CPU seconds when it ended; `grpc_server` when a
  process creates its gRPC server (in the provider plugin: `pulumi.dynamic` and its imports are loaded).
- `unpickle`, per `dill.loads` (the provider host unpickling a resource's provider: the first one imports the
  provider's modules).

The URN comes from a gRPC server interceptor: the dynamic provider host (`python -m pulumi.dynamic`) serves
Check/Diff/Create/Update/Read/Delete on a thread pool, and every one of those requests carries `urn`; the
interceptor keeps it in a `contextvars.ContextVar` for the duration of the call. A context variable, not a
thread-local: a provider that fans its calls out to worker threads in a copy of its context (Preflight does,
`contextvars.copy_context().run`) keeps them attributed to its resource; a thread-local left them with none.
The emulator only counts calls per operation, so this is how the bench learns calls *per resource*, which
the critical-path bound needs.

Nothing is imported ahead of the process's own code: `grpc`, `requests.adapters` and `dill` are patched right
after the process itself first imports them (a post-import hook on `sys.meta_path`), so the recorder neither
adds their import cost to a process that never loads them nor moves it earlier in one that does, and the
start-up it measures is the process's own. Nothing here changes behaviour: the wrapped functions are called
unchanged and their results returned.
"""

from __future__ import annotations

import atexit
import contextvars
import importlib.abc
import importlib.machinery
import json
import os
import re
import resource
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

_LOG = os.environ.get("ECI_BENCH_CALL_LOG")
_SOAP_OP = re.compile(rb"<(?:[\w-]+:)?Body[^>]*>\s*<(?:[\w-]+:)?(\w+)")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_started_at(pid: int) -> float | None:
    """Epoch seconds at which the kernel started `pid` (field 22 of /proc/<pid>/stat: clock ticks after
    boot, proc(5)), through CLOCK_BOOTTIME, the clock that field counts on; None where unavailable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError, AttributeError):
        return None
    return time.time() - age


def role(argv: Sequence[str]) -> str:
    """`python [-u] -m pkg.mod args` → `pkg.mod`; `python script.py` → `script.py`; `python -c` → `-c`.
    Never an argument after it (none is needed, and arguments may be anything)."""
    args = list(argv[1:])
    while args:
        arg = args.pop(0)
        if arg == "-m" and args:
            return args[0]
        if arg == "-c" or not arg.startswith("-"):
            return arg if arg == "-c" else os.path.basename(arg)
        if arg in ("-W", "-X") and args:
            args.pop(0)
    return ""


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Runs `patch(module)` right after the process first imports `name` (PEP 451: the spec the path finder
    would have returned, its loader wrapped), then steps aside for that name."""

    def __init__(self, patches: dict[str, Callable[[ModuleType], None]]) -> None:
        self.patches = patches

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> Any:
        patch = self.patches.pop(name, None)
        if patch is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _PatchingLoader(spec.loader, patch)
        return spec


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, loader: Any, patch: Callable[[ModuleType], None]) -> None:
        self.loader = loader
        self.patch = patch

    def create_module(self, spec: Any) -> ModuleType | None:
        created: ModuleType | None = self.loader.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        self.patch(module)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ...: the real loader's
        return getattr(self.loader, name)


def _install(log_path: str) -> None:
    # (urn, gRPC method) of the provider request being served; a worker started in a copy of the context
    # sees the value its starter had.
    current: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
        "eci_bench_where", default=None
    )
    write_lock = threading.Lock()
    pid = os.getpid()

    def record(entry: dict[str, Any]) -> None:
        line = json.dumps(entry) + "\n"
        with write_lock, open(log_path, "a", encoding="utf-8") as f:
            f.write(line)

    record(
        {
            "kind": "process",
            "pid": pid,
            "ppid": os.getppid(),
            "role": role(getattr(sys, "orig_argv", sys.argv)),
            "exec_at": process_started_at(pid),
            "parent_exec_at": process_started_at(os.getppid()),
            "site_at": time.time(),
        }
    )
    atexit.register(lambda: record({"kind": "exit", "pid": pid, "t": time.time(), "cpu": cpu_seconds()}))

    def patch_grpc(grpc: Any) -> None:
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
                        # gRPC requests too (language host, provider host), for the start-up timeline.
                        record(
                            {"kind": "grpc", "pid": pid, "service": service, "grpc": method, "urn": urn}
                            | {"t0": t0, "t1": time.time(), "cpu": cpu_seconds()}
                        )

                return grpc.unary_unary_rpc_method_handler(
                    behaviour,
                    request_deserializer=handler.request_deserializer,
                    response_serializer=handler.response_serializer,
                )

        real_server = grpc.server

        def server(*args: Any, **kwargs: Any) -> Any:
            record({"kind": "grpc_server", "pid": pid, "t": time.time(), "cpu": cpu_seconds()})
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
                            {"kind": "grpc", "side": "client", "pid": pid, "service": service}
                            | {"grpc": method, "urn": "", "t0": t0, "t1": time.time(), "cpu": cpu_seconds()}
                        )

        real_channel = grpc.insecure_channel

        def insecure_channel(*args: Any, **kwargs: Any) -> Any:
            return grpc.intercept_channel(real_channel(*args, **kwargs), ClientRecorder())

        grpc.insecure_channel = insecure_channel

    def patch_requests_adapters(adapters: Any) -> None:
        from urllib.parse import urlsplit

        real_send = adapters.HTTPAdapter.send

        def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            urn, grpc_method = current.get() or ("", "")
            body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
            match = _SOAP_OP.search(body[:4096]) if b"Envelope" in body[:512] else None
            entry: dict[str, Any] = {
                "kind": "http",
                "pid": pid,
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

        adapters.HTTPAdapter.send = send

    def patch_dill(dill: Any) -> None:
        real_loads = dill.loads

        def loads(*args: Any, **kwargs: Any) -> Any:
            t0 = time.time()
            try:
                return real_loads(*args, **kwargs)
            finally:
                record({"kind": "unpickle", "pid": pid, "t0": t0, "t1": time.time()})

        dill.loads = loads

    patches: dict[str, Callable[[ModuleType], None]] = {
        "grpc": patch_grpc,
        "requests.adapters": patch_requests_adapters,
        "dill": patch_dill,
    }
    for name in [n for n in patches if n in sys.modules]:  # already imported (not expected): patch now
        patches.pop(name)(sys.modules[name])
    sys.meta_path.insert(0, _PatchAfterImport(patches))


def _profile(out_dir: str) -> None:
    """cProfile on every thread of this process, timed in CPU seconds of that thread (`time.thread_time`), not
    wall time: a thread waiting for a reply or a lock costs nothing, so the profile says where the CPU went.
    cProfile profiles only the thread that enables it, and the provider host works on a gRPC thread pool, so
    each thread enables its own as it starts (`threading.setprofile`: the hook runs first in every new
    thread and hands over to cProfile). At exit the profiles are merged into `<role>-<pid>.prof` in
    `out_dir` (read it with `python -m pstats`)."""
    import cProfile
    import pstats

    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start() -> None:
        prof = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(prof)
        prof.enable()

    def first_call(*_args: Any) -> None:
        start()  # replaces this hook in the thread with cProfile's own

    threading.setprofile(first_call)
    start()

    def dump() -> None:
        with lock:
            taken = list(profiles)
        stats = None
        for prof in taken:
            try:
                prof.create_stats()
            except Exception:  # noqa: BLE001 - a thread's profile that cannot be read is left out
                continue
            stats = pstats.Stats(prof) if stats is None else stats.add(prof)
        if stats is not None:
            path = os.path.join(out_dir, f"{role(getattr(sys, 'orig_argv', sys.argv))}-{os.getpid()}.prof")
            stats.dump_stats(path)

    atexit.register(dump)


if _LOG:
    _install(_LOG)
if os.environ.get("ECI_BENCH_PROFILE_DIR"):
    _profile(os.environ["ECI_BENCH_PROFILE_DIR"])
