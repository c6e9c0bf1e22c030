"""fleet.py on the local engine: the benchmark's fleet runs where the Pulumi CLI is absent.

    python -m devtools.bench.fleet {preview|up|refresh|destroy} --engine local --stacks ... [fleet.py options]

``tools/fleet.py`` knows only the Automation API; this module injects a runner named ``local`` that sends each
stack through ``python -m devtools.engine VERB --json`` with its own state directory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tools.fleet import RUN_PROGRAM_VERBS, FleetPlan, Runner, StackJob, StackResult, first_error_line
from tools.fleet import main as fleet_main

REPO = Path(__file__).resolve().parents[2]


def _secret_var(n: int) -> str:
    return f"ECI_FLEET_SECRET_{n}"


class LocalEngineRunner:
    """Each stack through `python -m devtools.engine VERB --json`, its own state dir under `state_root`."""

    def __init__(
        self,
        work_dir: Path,
        *,
        state_root: Path,
        python: str = sys.executable,
        resource_parallel: int | None = None,
        env: Mapping[str, str] | None = None,
        repo_root: Path = REPO,
    ) -> None:
        self._work_dir = work_dir.resolve()
        self._state_root = state_root.resolve()
        self._python = python
        self._resource_parallel = resource_parallel
        self._env = dict(os.environ if env is None else env)
        # `devtools.engine` is importable from the repository root, which need not be the project dir.
        root = str(repo_root.resolve())
        self._env["PYTHONPATH"] = os.pathsep.join(p for p in (root, self._env.get("PYTHONPATH", "")) if p)

    def command(self, job: StackJob) -> list[str]:
        cmd = [
            self._python,
            "-m",
            "devtools.engine",
            job.verb,
            "--stack",
            job.stack,
            "--cwd",
            str(self._work_dir),
        ]
        cmd += ["--state-dir", str(self._state_root / job.stack), "--json"]
        if self._resource_parallel is not None:
            cmd += ["--parallel", str(self._resource_parallel)]
        if job.verb in RUN_PROGRAM_VERBS:
            cmd.append("--run-program")
        for key, value in job.config.items():
            cmd += ["-c", f"{key}={value}"]
        for n, key in enumerate(job.secrets):
            cmd += ["--secret-env", f"{key}={_secret_var(n)}"]
        return cmd

    def __call__(self, job: StackJob) -> StackResult:
        start = time.monotonic()
        # Secrets through the child's environment (readable by the same user only), never argv (any user).
        env = {**self._env, **{_secret_var(n): v for n, v in enumerate(job.secrets.values())}}
        proc = subprocess.run(
            self.command(job), capture_output=True, text=True, env=env, cwd=self._work_dir, check=False
        )
        duration = time.monotonic() - start
        data: dict[str, Any] = {}
        try:
            parsed = json.loads(proc.stdout) if proc.stdout.strip() else {}
            data = parsed if isinstance(parsed, dict) else {}
        except json.JSONDecodeError:
            data = {}
        if proc.returncode != 0:
            return StackResult(
                stack=job.stack,
                ok=False,
                changes=data.get("changes") or {},
                duration_s=duration,
                error=first_error_line(
                    proc.stderr or proc.stdout or f"exit {proc.returncode}", job.secrets.values()
                )
                or f"exit {proc.returncode}",
            )
        return StackResult(
            stack=job.stack,
            ok=True,
            changes=data.get("changes") or {},
            duration_s=duration,
            outputs=data.get("outputs") or {},
        )


def local_runner(fleet_plan: FleetPlan, args: argparse.Namespace) -> Runner:
    return LocalEngineRunner(
        fleet_plan.work_dir, state_root=args.state_dir, resource_parallel=args.resource_parallel
    )


def main(argv: Sequence[str] | None = None) -> int:
    return fleet_main(argv, engines={"local": local_runner})


if __name__ == "__main__":
    sys.exit(main())
