"""The bench's call recorder (devtools/bench/hook/sitecustomize.py) attributes each HTTP call to the resource
whose provider request made it, also when the provider makes the call on a worker thread.

Run in a child process, as the bench loads it (PYTHONPATH + ECI_BENCH_CALL_LOG): the hook patches
`grpc.server` and requests' `HTTPAdapter.send` process-wide, which must not leak into the test session.
The child serves a real gRPC `ResourceProvider/Create` (the request type the dynamic provider host gets)
and, inside it, sends HTTP requests to a local server from the handler's thread, from a pool worker given a
copy of the context (what providers/preflight/ does), and from a bare thread (no context copied).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from devtools.bench import harness

pytestmark = pytest.mark.timeout(60)

URN = "urn:pulumi:dev::eci-aircall::pulumi-python:dynamic:Resource::preflight"

CHILD = textwrap.dedent(
    """
    import contextvars, sys, threading
    from concurrent import futures
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import grpc
    import requests
    from pulumi.runtime.proto import provider_pb2

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{http.server_address[1]}"

    def get(path):
        with requests.Session() as s:
            s.trust_env = False  # no proxy from the environment for a loopback request
            s.get(base + path, timeout=10).raise_for_status()

    def create(request, context):
        get("/handler-thread")
        with futures.ThreadPoolExecutor(max_workers=2) as pool:
            pool.submit(contextvars.copy_context().run, get, "/worker-with-context").result()
        bare = threading.Thread(target=get, args=("/bare-thread",))
        bare.start()
        bare.join()
        return provider_pb2.CreateResponse(id="x")

    handler = grpc.method_handlers_generic_handler(
        "pulumirpc.ResourceProvider",
        {
            "Create": grpc.unary_unary_rpc_method_handler(
                create,
                request_deserializer=provider_pb2.CreateRequest.FromString,
                response_serializer=provider_pb2.CreateResponse.SerializeToString,
            )
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(
            "/pulumirpc.ResourceProvider/Create",
            request_serializer=provider_pb2.CreateRequest.SerializeToString,
            response_deserializer=provider_pb2.CreateResponse.FromString,
        )
        call(provider_pb2.CreateRequest(urn=sys.argv[1]), timeout=20)
    get("/after-the-request")
    server.stop(None)
    http.shutdown()
    """
)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    log = tmp_path_factory.mktemp("hook") / "calls.jsonl"
    env = harness.engine_env(log)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, URN],
        cwd=harness.REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    http = {str(e["path"]): e for e in entries if e["kind"] == "http"}
    grpc_events = [e for e in entries if e["kind"] == "grpc"]
    assert len(grpc_events) == 1 and grpc_events[0]["grpc"] == "Create" and grpc_events[0]["urn"] == URN
    kinds = ("process", "exit", "grpc_server")
    return {**http, **{f"<{e['kind']}>": e for e in entries if e["kind"] in kinds}}


def test_a_call_on_the_handlers_own_thread_is_attributed_to_the_requests_resource(
    recorded: dict[str, dict[str, object]],
) -> None:
    assert (recorded["/handler-thread"]["urn"], recorded["/handler-thread"]["grpc"]) == (URN, "Create")


def test_a_call_on_a_worker_thread_that_copied_the_context_is_attributed_to_the_resource(
    recorded: dict[str, dict[str, object]],
) -> None:
    # A thread-local recorder gave this call no resource (the bench's "login 7", 0 calls on Preflight).
    worker = recorded["/worker-with-context"]
    assert worker["thread"] != recorded["/handler-thread"]["thread"]
    assert (worker["urn"], worker["grpc"]) == (URN, "Create")


def test_a_thread_started_without_the_context_and_calls_after_the_request_get_no_resource(
    recorded: dict[str, dict[str, object]],
) -> None:
    # Attribution follows the context, not "whatever request is running": a bare thread (Python 3.11 starts
    # it in an empty context) and anything after the request ended are outside any resource.
    assert recorded["/bare-thread"]["urn"] == ""
    assert recorded["/after-the-request"]["urn"] == ""


def test_the_process_is_recorded_from_its_start_to_its_exit_with_its_cpu(
    recorded: dict[str, dict[str, object]],
) -> None:
    started, server, ended = recorded["<process>"], recorded["<grpc_server>"], recorded["<exit>"]
    assert started["role"] == "-c" and started["pid"] == ended["pid"] == server["pid"]
    # The kernel's start time (10 ms ticks) comes before Python had finished starting this module.
    assert isinstance(started["exec_at"], float) and isinstance(started["site_at"], float)
    assert started["exec_at"] <= started["site_at"] + 0.011
    assert isinstance(started["parent_exec_at"], float) and started["parent_exec_at"] <= started["exec_at"]
    assert isinstance(ended["cpu"], float) and ended["cpu"] > 0


def test_the_hook_imports_nothing_ahead_of_the_process_and_patches_what_it_imports() -> None:
    # Loaded first in every process, the recorder must not add grpc's or requests' import cost to a process
    # that never loads them, nor move it earlier: the start-up it measures is the process's own.
    code = (
        "import sys, sitecustomize\n"
        "print(*(m in sys.modules for m in ('grpc', 'requests', 'dill')))\n"
        "import requests.adapters, grpc, dill\n"
        "print(*(f.__module__ for f in (requests.adapters.HTTPAdapter.send, grpc.server, dill.loads)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=harness.REPO, env=harness.engine_env(Path(os.devnull)),
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert out == ["False False False", "sitecustomize sitecustomize sitecustomize"]


def test_the_hook_is_loaded_but_inert_without_a_call_log() -> None:
    # The hook dir on PYTHONPATH with no ECI_BENCH_CALL_LOG (e.g. a stray variable): nothing is patched.
    env = harness.engine_env(None)
    env["PYTHONPATH"] = os.pathsep.join([str(harness.HOOK_DIR), env["PYTHONPATH"]])
    code = (
        "import sitecustomize, requests.adapters as a, grpc; "
        "print(sitecustomize.__file__, a.HTTPAdapter.send.__module__, grpc.server.__module__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=harness.REPO, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(harness.HOOK_DIR / "sitecustomize.py"), "requests.adapters", "grpc"]
