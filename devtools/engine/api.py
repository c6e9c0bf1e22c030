"""Python helper for tests: run the local engine CLI in a subprocess and parse its `--json` document."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
# The passphrase the example stack files in this repository were encrypted with. Tests that do not pass
# PULUMI_CONFIG_PASSPHRASE themselves get this one (it protects nothing real).
TEST_PASSPHRASE = "eci-aircall-test-passphrase"


class EngineError(AssertionError):
    """The engine exited non-zero while the caller asked for check=True."""

    def __init__(self, result: EngineResult) -> None:
        self.result = result
        super().__init__(
            f"`{result.verb}` exited {result.returncode}\n--- stderr ---\n{result.stderr[-4000:]}"
            f"\n--- stdout ---\n{result.stdout[-4000:]}"
        )


@dataclass
class EngineResult:
    returncode: int
    stdout: str
    stderr: str
    data: dict[str, Any] = field(default_factory=dict)
    verb: str = ""

    @property
    def changes(self) -> dict[str, int]:
        return dict(self.data.get("changes") or {})

    @property
    def outputs(self) -> dict[str, Any]:
        return dict(self.data.get("outputs") or {})

    def ops(self, include_same: bool = False) -> dict[str, str]:
        """URN → op of every step (sames left out unless asked)."""
        return {s["urn"]: s["op"] for s in self.data.get("steps") or [] if include_same or s["op"] != "same"}

    def steps_by_name(self) -> dict[str, dict[str, Any]]:
        return {s["urn"].rsplit("::", 1)[-1]: s for s in self.data.get("steps") or []}


def engine_env(env: dict[str, str] | None = None) -> dict[str, str]:
    full = dict(os.environ)
    full.update(env or {})
    if "PULUMI_CONFIG_PASSPHRASE" not in full and "PULUMI_CONFIG_PASSPHRASE_FILE" not in full:
        full["PULUMI_CONFIG_PASSPHRASE"] = TEST_PASSPHRASE
    # `python -m devtools.engine` must import from this repository whatever the caller's cwd.
    full["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), full.get("PYTHONPATH", "")) if p)
    return full


def run(
    verb: str,
    *,
    stack: str,
    cwd: str | Path,
    state_dir: str | Path,
    config: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
    expect_no_changes: bool = False,
    parallel: int | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float = 300,
    extra_args: list[str] | None = None,
) -> EngineResult:
    """Run `python -m devtools.engine VERB --json ...`; with check=True a non-zero exit raises EngineError."""
    args = [sys.executable, "-m", "devtools.engine", verb, "--stack", stack, "--cwd", str(cwd)]
    args += ["--state-dir", str(state_dir), "--json"]
    for key, value in (config or {}).items():
        args += ["--config", f"{key}={value}"]
    secret_env: dict[str, str] = {}
    for n, (key, value) in enumerate((secrets or {}).items()):
        # Through the environment, never argv: any process on the machine can read another's argv.
        secret_env[f"ECI_ENGINE_SECRET_{n}"] = value
        args += ["--secret-env", f"{key}=ECI_ENGINE_SECRET_{n}"]
    if expect_no_changes:
        args.append("--expect-no-changes")
    if parallel is not None:
        args += ["--parallel", str(parallel)]
    args += extra_args or []
    # Its own process group: a timeout or an interrupted test also ends the program and provider processes
    # the engine started, instead of leaving them behind.
    proc = subprocess.Popen(
        args, cwd=str(REPO_ROOT), env={**engine_env(env), **secret_env}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    data: dict[str, Any] = {}
    if stdout.strip():
        try:
            data = json.loads(stdout)
        except json.JSONDecodeError:
            data = {}
    result = EngineResult(proc.returncode, stdout, stderr, data, verb)
    if check and proc.returncode != 0:
        raise EngineError(result)
    return result


def stack_export(
    *, stack: str, cwd: str | Path, state_dir: str | Path, env: dict[str, str] | None = None
) -> dict:
    """`pulumi stack export` of the local engine's state."""
    proc = subprocess.run(
        [sys.executable, "-m", "devtools.engine", "stack", "export", "--stack", stack, "--cwd", str(cwd),
         "--state-dir", str(state_dir)],
        cwd=str(REPO_ROOT), env=engine_env(env), capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(proc.stdout))


def stack_import(
    deployment: dict, *, stack: str, cwd: str | Path, state_dir: str | Path, env: dict[str, str] | None = None
) -> None:
    """`pulumi stack import` into the local engine's state."""
    subprocess.run(
        [sys.executable, "-m", "devtools.engine", "stack", "import", "--stack", stack, "--cwd", str(cwd),
         "--state-dir", str(state_dir)],
        cwd=str(REPO_ROOT), env=engine_env(env), input=json.dumps(deployment), capture_output=True, text=True,
        check=True,
    )  # fmt: skip
