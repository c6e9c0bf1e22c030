"""Run the real `pulumi` CLI with the project's program served from this process (the CLI's `--client` route).

    python -m devtools.pulumi_cli.client VERB [pulumi args...] --cwd PROJECT_DIR

Why: the Python language host `pulumi-language-python` is its own Go module
(`github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3`) with no tags of its own, and the module
proxy serves no version of it: `go list -m -versions` and `@latest`, `@master` and `@v3.276.0` each answer
"403 Forbidden … This module version is not available". So, for the verbs that run the program (`preview`,
`up`, and `refresh` / `destroy` with `--run-program`), this does what the Automation API does for an inline
program (pulumi/automation/_stack.py `Stack.up`): it starts the SDK's own `LanguageServer` on loopback, with a
program that runs the project's `__main__.py`, and passes `--client=127.0.0.1:PORT` to the CLI, which then
talks to it instead of starting a language host (pkg/cmd/pulumi/operations/up.go, hidden flag `client`).
Everything else (steps, state, secrets, provider plugin, display, exit codes) is the real CLI's. A CLI with a
language host (an official release) works with it as well.

The program's own prints go to stderr, so that stdout carries only what the CLI prints (`--json`).
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from collections.abc import Callable
from concurrent import futures
from pathlib import Path

PROGRAM_VERBS = {"preview", "up", "update"}


def needs_program(argv: list[str]) -> bool:
    verb = argv[0] if argv else ""
    return verb in PROGRAM_VERBS or (verb in ("refresh", "destroy") and "--run-program" in argv)


def project_dir(argv: list[str]) -> Path:
    for i, arg in enumerate(argv):
        if arg == "--cwd" and i + 1 < len(argv):
            return Path(argv[i + 1]).resolve()
        if arg.startswith("--cwd="):
            return Path(arg.split("=", 1)[1]).resolve()
    return Path.cwd()


def program_for(project: Path) -> Callable[[], None]:
    """The program the language host would run: the project's `__main__.py`, with the project directory first
    on sys.path and as the working directory (as pulumi-language-python-exec does with --pwd)."""

    def program() -> None:
        os.chdir(project)
        if str(project) not in sys.path:
            sys.path.insert(0, str(project))
        runpy.run_path(str(project / "__main__.py"), run_name="__main__")

    return program


def pulumi_binary() -> str:
    return os.environ.get("ECI_PULUMI") or "pulumi"


def main(argv: list[str]) -> int:
    args = list(argv)
    server = None
    if needs_program(args):
        import grpc
        from pulumi.automation._server import LanguageServer
        from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
        from pulumi.runtime.proto import language_pb2_grpc

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=_GRPC_CHANNEL_OPTIONS)
        language_pb2_grpc.add_LanguageRuntimeServicer_to_server(
            LanguageServer(program_for(project_dir(args))), server
        )
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        args.append(f"--client=127.0.0.1:{port}")
    out = os.dup(1)
    os.dup2(2, 1)  # the program's prints: to stderr, never into the CLI's --json on stdout
    try:
        proc = subprocess.Popen([pulumi_binary(), *args], stdout=out)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            return proc.wait()
    finally:
        if server is not None:
            server.stop(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
