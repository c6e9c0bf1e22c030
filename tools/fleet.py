"""Run one Pulumi verb over many org stacks at once and report per stack.

    python fleet.py {preview|up|refresh|destroy} --stacks dev,uat,prod [--parallel N] [--work-dir .]
                    [--backend-url file://...] [--engine automation] [--json FILE]

Each org is its own stack of this project (config in `stacks/Pulumi.<stack>.yaml`, the project's
`stackConfigDir`). Every stack goes through Pulumi's Automation API (`pulumi.automation`), which drives the
real `pulumi` CLI. Connection settings that differ per org and must not sit in a file (tokens) come from the
environment: `--secret-env eci-aircall:accessToken=SF_TOKEN_{STACK}` reads `SF_TOKEN_DEV` for stack `dev`,
and so on.

The module is split so the parts with decisions in them are pure and unit-tested without the CLI:
`plan()` decides which stacks, in what order, how many at once and with which per-stack config;
`run_fleet()` schedules jobs on a runner; `render_table()` / `exit_code()` report. A runner is a thin
adapter from a `StackJob` to a `StackResult`; `main()` takes more of them by name (`--engine NAME`), which
is how a tool runs the fleet on another engine without this module knowing it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml

VERBS = ("preview", "up", "refresh", "destroy")
# Without --run-program, `pulumi refresh` and `pulumi destroy` configure the provider from the config saved in
# state at the last `up` (pulumi/pulumi pkg/cmd/pulumi/operations/refresh.go, destroy.go), so a secret the
# fleet has just set (a rotated token) would not reach it.
RUN_PROGRAM_VERBS = frozenset({"refresh", "destroy"})
# Each stack costs a CLI (or engine) process, the language host and a provider process; past a handful
# per core the machine, not the orgs' latency, becomes the bottleneck, so the default stays modest.
DEFAULT_MAX_PARALLEL = 8
STACK_PLACEHOLDER = "{STACK}"
_STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class PlanError(ValueError):
    """The command line cannot be turned into a plan (unknown stack, missing variable, ...)."""


@dataclass(frozen=True)
class StackJob:
    stack: str
    verb: str
    config: Mapping[str, str] = field(default_factory=dict)
    # Kept out of repr so a plan printed while debugging never shows a token.
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class FleetPlan:
    verb: str
    jobs: tuple[StackJob, ...]
    concurrency: int
    work_dir: Path


@dataclass(frozen=True)
class StackResult:
    stack: str
    ok: bool
    changes: Mapping[str, int]
    duration_s: float
    error: str = ""
    outputs: Mapping[str, Any] = field(default_factory=dict)


class Runner(Protocol):
    def __call__(self, job: StackJob) -> StackResult: ...


#: Makes the runner for a planned fleet from the parsed command line (``--engine NAME`` picks one).
RunnerFactory = Callable[[FleetPlan, argparse.Namespace], Runner]


# --- planning


def project_stack_dir(work_dir: Path) -> Path:
    """Where the project keeps `Pulumi.<stack>.yaml` (Pulumi.yaml `stackConfigDir`, else the project dir)."""
    project_file = work_dir / "Pulumi.yaml"
    if not project_file.is_file():
        raise PlanError(f"{project_file} not found: --work-dir must point at the Pulumi project")
    settings = yaml.safe_load(project_file.read_text()) or {}
    return work_dir / str(settings.get("stackConfigDir") or ".")


def discover_stacks(stack_dir: Path) -> list[str]:
    """Stacks that have a config file; `*.yaml.example` templates are not stacks."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stack_dir.glob("Pulumi.*.yaml"))


def parse_stacks(spec: str, available: Sequence[str]) -> list[str]:
    """`a,b,c` (order kept, duplicates dropped) or `all` (every stack with a config file)."""
    if spec.strip() == "all":
        if not available:
            raise PlanError("--stacks all: no Pulumi.<stack>.yaml found in the project's stack config dir")
        return list(available)
    names: list[str] = []
    for raw in spec.split(","):
        name = raw.strip()
        if not name:
            continue
        if not _STACK_NAME.match(name):
            raise PlanError(f"invalid stack name {name!r} (letters, digits, '-', '_' and '.' only)")
        if name not in names:
            names.append(name)
    if not names:
        raise PlanError("--stacks is empty: give a comma-separated list of stacks or 'all'")
    return names


def env_var_for(template: str, stack: str) -> str:
    """`SF_TOKEN_{STACK}` for stack `uat-eu` → `SF_TOKEN_UAT_EU` (env var names cannot hold '-' or '.')."""
    return template.replace(STACK_PLACEHOLDER, re.sub(r"[^A-Za-z0-9_]", "_", stack).upper())


def _split_assignment(option: str, text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise PlanError(f"{option} expects KEY=VALUE, got {text.split('=')[0]!r}")
    return key, value


def _resolve_env(
    option: str, assignments: Sequence[str], stack: str, env: Mapping[str, str]
) -> dict[str, str]:
    resolved: dict[str, str] = {}
    for text in assignments:
        key, template = _split_assignment(option, text)
        var = env_var_for(template, stack)
        if var not in env:
            raise PlanError(
                f"stack {stack}: {option} {key} needs environment variable {var}, which is not set"
            )
        resolved[key] = env[var]
    return resolved


def plan(
    verb: str,
    stacks_spec: str,
    *,
    work_dir: Path,
    parallel: int | None = None,
    config: Sequence[str] = (),
    config_env: Sequence[str] = (),
    secret_env: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    require_stack_files: bool = True,
) -> FleetPlan:
    """Everything decided before any stack runs, so a typo fails the whole fleet before it touches one org."""
    if verb not in VERBS:
        raise PlanError(f"unknown verb {verb!r}: one of {', '.join(VERBS)}")
    if parallel is not None and parallel < 1:
        raise PlanError("--parallel must be at least 1")
    env = os.environ if env is None else env
    stack_dir = project_stack_dir(work_dir)
    available = discover_stacks(stack_dir)
    stacks = parse_stacks(stacks_spec, available)
    if require_stack_files:
        # Without its file the CLI would silently run a stack with no config: never intended for an org.
        missing = [s for s in stacks if s not in available]
        if missing:
            raise PlanError(
                f"no stack config for {', '.join(missing)} in {stack_dir} "
                f"(expected Pulumi.<stack>.yaml; have: {', '.join(available) or 'none'})"
            )
    fixed = dict(_split_assignment("-c/--config", c) for c in config)
    jobs = []
    for stack in stacks:
        per_stack = {k: v.replace(STACK_PLACEHOLDER, stack) for k, v in fixed.items()}
        per_stack.update(_resolve_env("--config-env", config_env, stack, env))
        secrets = _resolve_env("--secret-env", secret_env, stack, env)
        jobs.append(StackJob(stack=stack, verb=verb, config=per_stack, secrets=secrets))
    limit = parallel if parallel is not None else DEFAULT_MAX_PARALLEL
    return FleetPlan(verb=verb, jobs=tuple(jobs), concurrency=min(limit, len(jobs)), work_dir=work_dir)


# --- scheduling


R = TypeVar("R")


def _failed(job: StackJob, error: str, duration_s: float) -> StackResult:
    return StackResult(stack=job.stack, ok=False, changes={}, duration_s=duration_s, error=error)


def run_fleet(
    fleet_plan: FleetPlan,
    runner: Callable[[StackJob], R],
    *,
    on_done: Callable[[R], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    failed: Callable[[StackJob, str, float], R] = _failed,  # type: ignore[assignment]
) -> list[R]:
    """Run every job, at most `concurrency` at once; results come back in plan order whatever finishes first.

    One org failing never stops the others: a fleet run is many independent deployments, and stopping half-way
    would leave the fleet more inconsistent than finishing the rest and reporting the failure. A runner that
    raises becomes ``failed(job, first error line, duration)``: that stack's failure, not the fleet's.
    """

    def guarded(job: StackJob) -> R:
        start = clock()
        try:
            result = runner(job)
        except Exception as exc:  # a runner bug or a CLI crash must become this stack's failure
            error = first_error_line(f"{type(exc).__name__}: {exc}", job.secrets.values())
            result = failed(job, error, clock() - start)
        if on_done is not None:
            on_done(result)
        return result

    with concurrent.futures.ThreadPoolExecutor(
        max_workers=max(fleet_plan.concurrency, 1), thread_name_prefix="fleet"
    ) as pool:
        return list(pool.map(guarded, fleet_plan.jobs))


# --- reporting

# The CLI's summary keys (pulumi.automation.OpType values) folded into the table's columns: a replacement
# shows under "replaced", not twice as a create plus a delete.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "created": ("create", "import"),
    "updated": ("update",),
    "replaced": ("replace", "create-replacement"),
    "same": ("same",),
    "deleted": ("delete",),
}


def summarize_changes(changes: Mapping[Any, int]) -> dict[str, int]:
    plain = {str(getattr(k, "value", k)): int(v) for k, v in changes.items()}
    if plain.get("replace"):
        # The CLI reports a replacement both as "replace" and as its create/delete halves; count it once.
        plain.pop("create-replacement", None)
    return {col: sum(plain.get(k, 0) for k in keys) for col, keys in _COLUMNS.items()}


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*: \S")


def _exception_line(lines: Sequence[str]) -> str:
    """The exception line that ends a traceback (lines stripped): the last `Type: message` before the next
    `error:` line, skipping `File ...` frames."""
    found = ""
    for line in lines:
        if line.lower().startswith("error:"):
            break
        if _EXCEPTION_LINE.match(line) and not line.startswith("File "):
            found = line
    return found


def first_error_line(text: str, secrets: Any = ()) -> str:
    """The line a human needs first: the CLI's `error:` line, else the first non-empty one; secrets masked."""
    raw = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    lines = [ln.strip() for ln in raw]
    at = next((i for i, ln in enumerate(lines) if ln.lower().startswith("error:")), 0)
    chosen = lines[at] if lines else ""
    # "error: Program failed with an unhandled exception:" says nothing until its next line; when that is a
    # Python traceback, what matters is the exception line: the first unindented line after the frames.
    if chosen.endswith(":") and at + 1 < len(lines):
        detail = lines[at + 1]
        if detail.startswith("Traceback (most recent call last)"):
            exc_lines = [ln.strip() for ln in raw[at + 2 :] if ln[:1] not in (" ", "\t")]
            detail = exc_lines[0] if exc_lines else detail
        elif detail.lower().startswith("error: traceback (most recent call last)"):
            # A failed resource: "<type> (<name>):", then "error: " and the traceback the SDK's dynamic
            # provider host sends (pulumi/dynamic/__main__.py: traceback.format_exc()), indented by the CLI.
            # Its last exception line (after any "During handling ..." chain) is the message.
            detail = _exception_line(lines[at + 2 :]) or detail
        chosen = f"{chosen} {detail}"
    for secret in secrets:
        if secret:
            chosen = chosen.replace(secret, "[secret]")
    return chosen[:200]


def command_error_line(exc: Exception, secrets: Any = ()) -> str:
    """The first error line of an Automation API ``CommandError``: its text is "code: ...\n stdout: ...\n
    stderr: ...", and the CLI's own words are in stderr."""
    text = str(exc)
    return first_error_line(text.partition(" stderr:")[2] or text, secrets)


def render_table(results: Sequence[StackResult], *, verb: str = "") -> str:
    headers = ["stack", "result", *(_COLUMNS), "duration", "error"]
    rows = []
    for r in results:
        counts = summarize_changes(r.changes)
        rows.append(
            [
                r.stack,
                "ok" if r.ok else "FAILED",
                *(str(counts[c]) for c in _COLUMNS),
                f"{r.duration_s:.1f}s",
                r.error,
            ]
        )
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(headers)]
    numeric = set(range(2, 2 + len(_COLUMNS) + 1))

    def fmt(cells: Sequence[str]) -> str:
        out = [c.rjust(widths[i]) if i in numeric else c.ljust(widths[i]) for i, c in enumerate(cells)]
        return "  ".join(out).rstrip()

    lines = [fmt(headers), fmt(["-" * w for w in widths]), *(fmt(row) for row in rows)]
    failed = sum(not r.ok for r in results)
    title = f"fleet {verb}: " if verb else "fleet: "
    lines.append(f"{title}{len(results) - failed} ok, {failed} failed, {len(results)} stacks")
    return "\n".join(lines)


def exit_code(results: Sequence[StackResult]) -> int:
    return 0 if results and all(r.ok for r in results) else 1


def results_json(fleet_plan: FleetPlan, results: Sequence[StackResult], wall_s: float) -> dict[str, Any]:
    return {
        "verb": fleet_plan.verb,
        "concurrency": fleet_plan.concurrency,
        "wall_s": round(wall_s, 3),
        "stacks": [
            {
                "stack": r.stack,
                "ok": r.ok,
                "changes": dict(summarize_changes(r.changes)),
                "duration_s": round(r.duration_s, 3),
                "error": r.error,
            }
            for r in results
        ],
    }


# --- runners


def required_cli_version(work_dir: Path) -> tuple[int, ...]:
    """The lower bound of the project's `requiredPulumiVersion` (">=X.Y.Z"), () if it sets none."""
    settings = yaml.safe_load((work_dir / "Pulumi.yaml").read_text()) or {}
    match = re.match(r"\s*>=\s*v?(\d+)\.(\d+)\.(\d+)", str(settings.get("requiredPulumiVersion") or ""))
    return tuple(int(p) for p in match.groups()) if match else ()


def pulumi_cli_missing_message(work_dir: Path = Path(".")) -> str | None:
    """Why the Automation API cannot drive the CLI here, or None: no `pulumi` on PATH, or one older than the
    project's requiredPulumiVersion (the version as the Automation API reads it, `PulumiCommand.version`)."""
    if not shutil.which("pulumi"):
        return (
            "fleet: the Pulumi CLI (`pulumi`) is not on PATH, and the Automation API drives it. Install it "
            "(https://www.pulumi.com/docs/iac/download-install/)."
        )
    from pulumi import automation as auto

    try:
        version = auto.PulumiCommand().version
    except Exception as exc:  # the CLI could not tell its version: the Automation API refuses it
        return f"fleet: `pulumi version` gave no usable version ({exc}); install a release of the Pulumi CLI."
    minimum = required_cli_version(work_dir)
    found = (version.major, version.minor, version.patch) if version is not None else ()
    if minimum and found < minimum:
        wanted = ".".join(map(str, minimum))
        return (
            f"fleet: the Pulumi CLI on PATH is {'.'.join(map(str, found)) or 'of no known version'}; this "
            f"project needs {wanted} or later (Pulumi.yaml requiredPulumiVersion): upgrade it "
            "(https://www.pulumi.com/docs/iac/download-install/)."
        )
    return None


def project_program(work_dir: Path) -> Callable[[], None]:
    """The project's `__main__.py` as an inline Automation API program: the CLI then talks to this process's
    language server (`--client`), so a fleet needs only the `pulumi` binary, no language host. The program
    runs with the project directory first on sys.path, as the language host would run it."""
    import runpy

    main_file = str(work_dir / "__main__.py")

    def program() -> None:
        if str(work_dir) not in sys.path:
            sys.path.insert(0, str(work_dir))
        runpy.run_path(main_file, run_name="__main__")

    return program


class AutomationRunner:
    """One `LocalWorkspace` per stack over the real CLI.

    Stack creation/selection is serialised: `create_or_select_stack` rewrites the CLI's workspace.json and
    parallel calls corrupt it (pulumi/pulumi#8186, #6287). The verbs themselves pass `--stack` explicitly
    and run in parallel. The CLI handle (`PulumiCommand`, which runs `pulumi version` on creation) is made
    once and shared, as parallel version probes are flaky (pulumi/pulumi#10523).
    """

    def __init__(self, work_dir: Path, *, backend_url: str | None, resource_parallel: int | None) -> None:
        from pulumi import automation as auto

        self._auto = auto
        self._work_dir = str(work_dir.resolve())
        self._project = str((yaml.safe_load((work_dir / "Pulumi.yaml").read_text()) or {})["name"])
        self._program = project_program(work_dir.resolve())
        self._env = {"PULUMI_BACKEND_URL": backend_url} if backend_url else {}
        # An inline program's dynamic-provider plugin gets no runtime options from Pulumi.yaml (the program
        # is served from here, not by a language host), so it is told which Python has our packages.
        self._env["PULUMI_PYTHON_CMD"] = os.environ.get("PULUMI_PYTHON_CMD", sys.executable)
        self._resource_parallel = resource_parallel
        self._command = auto.PulumiCommand()
        self._select_lock = threading.Lock()

    def _set_secret(self, stack: str, key: str, value: str) -> None:
        """`pulumi config set --secret KEY` with the value on stdin. The Automation API's ``set_config`` puts
        it in argv (``config set KEY --secret -- VALUE``), where `ps` shows it; the CLI reads a value left
        out from stdin when stdin is not a terminal (pulumi/pulumi pkg/cmd/pulumi/config/config.go,
        configSetCmd.Run)."""
        from pulumi.automation._cmd import CommandResult
        from pulumi.automation.errors import create_command_error

        proc = subprocess.run(
            [self._command.command, "config", "set", "--secret", key, "--stack", stack, "--non-interactive"],
            input=value,
            capture_output=True,
            text=True,
            cwd=self._work_dir,
            env={**os.environ, **self._env},
            check=False,
        )
        if proc.returncode != 0:
            raise create_command_error(CommandResult(proc.stdout, proc.stderr, proc.returncode))

    def select(self, job: StackJob) -> Any:
        """The job's stack (created on first use), with its config and secrets set."""
        auto = self._auto
        with self._select_lock:
            stack = auto.create_or_select_stack(
                job.stack,
                project_name=self._project,
                program=self._program,
                opts=auto.LocalWorkspaceOptions(
                    work_dir=self._work_dir, env_vars=self._env, pulumi_command=self._command
                ),
            )
            # `up -c` would persist too; set_config the CLI way keeps secrets encrypted in the file.
            for key, value in job.config.items():
                stack.set_config(key, auto.ConfigValue(value=value), path=False)
            for key, value in job.secrets.items():
                self._set_secret(job.stack, key, value)
        return stack

    def __call__(self, job: StackJob) -> StackResult:
        from pulumi.automation.errors import CommandError

        start = time.monotonic()
        try:
            stack = self.select(job)
            changes: Mapping[Any, int]
            outputs: dict[str, Any] = {}
            p = self._resource_parallel
            if job.verb == "preview":
                changes = stack.preview(parallel=p, color="never").change_summary
            elif job.verb == "up":
                up = stack.up(parallel=p, color="never")
                changes = up.summary.resource_changes or {}
                outputs = {k: "[secret]" if v.secret else v.value for k, v in up.outputs.items()}
            # refresh / destroy: run_program, so that the config just set (a rotated token from --secret-env)
            # reaches the provider; without it the CLI configures it from the config saved in state at the
            # last `up` (RUN_PROGRAM_VERBS).
            elif job.verb == "refresh":
                refreshed = stack.refresh(parallel=p, color="never", run_program=True)
                changes = refreshed.summary.resource_changes or {}
            else:
                destroyed = stack.destroy(parallel=p, color="never", run_program=True)
                changes = destroyed.summary.resource_changes or {}
        except CommandError as exc:
            return _failed(job, command_error_line(exc, job.secrets.values()), time.monotonic() - start)
        return StackResult(
            stack=job.stack, ok=True, changes=changes, duration_s=time.monotonic() - start, outputs=outputs
        )


# --- main


def _automation_runner(fleet_plan: FleetPlan, args: argparse.Namespace) -> Runner:
    return AutomationRunner(
        fleet_plan.work_dir, backend_url=args.backend_url, resource_parallel=args.resource_parallel
    )


def add_stack_options(p: argparse.ArgumentParser) -> None:
    """The options that pick the stacks and their config, shared with tools/status.py."""
    p.add_argument("--stacks", required=True, help="comma-separated stack names, or 'all'")
    p.add_argument(
        "--parallel", type=int, help=f"stacks at once (default: all, at most {DEFAULT_MAX_PARALLEL})"
    )
    p.add_argument("--work-dir", type=Path, default=Path("."), help="the Pulumi project (default: .)")
    p.add_argument("--backend-url", help="state backend, e.g. file://~/.pulumi-state (else the CLI's login)")
    p.add_argument(
        "-c", "--config", action="append", default=[], help="KEY=VALUE for every stack ({STACK} ok)"
    )
    p.add_argument(
        "--config-env", action="append", default=[], help="KEY=ENV_VAR_TEMPLATE, e.g. X=URL_{STACK}"
    )
    p.add_argument(
        "--secret-env", action="append", default=[], help="KEY=ENV_VAR_TEMPLATE, value kept secret"
    )
    p.add_argument("--json", type=Path, dest="json_path", help="also write the results as JSON to this file")


def build_parser(engines: Sequence[str] = ("automation",)) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fleet.py", description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("verb", choices=VERBS)
    add_stack_options(p)
    p.add_argument("--resource-parallel", type=int, help="resource operations at once within a stack")
    p.add_argument("--engine", choices=engines, default="automation")
    p.add_argument(
        "--allow-missing-stack-config", action="store_true", help="run stacks without a stack file"
    )
    return p


def main(argv: Sequence[str] | None = None, engines: Mapping[str, RunnerFactory] | None = None) -> int:
    """The command line. ``engines`` adds runners by name to the Automation API's (``automation``)."""
    factories: dict[str, RunnerFactory] = {"automation": _automation_runner, **(engines or {})}
    args = build_parser(tuple(factories)).parse_args(argv)
    try:
        fleet_plan = plan(
            args.verb,
            args.stacks,
            work_dir=args.work_dir.resolve(),
            parallel=args.parallel,
            config=args.config,
            config_env=args.config_env,
            secret_env=args.secret_env,
            require_stack_files=not args.allow_missing_stack_config,
        )
    except PlanError as exc:
        print(f"fleet: {exc}", file=sys.stderr)
        return 2
    if args.engine == "automation":
        missing = pulumi_cli_missing_message(fleet_plan.work_dir)
        if missing:
            print(missing, file=sys.stderr)
            return 2
    runner = factories[args.engine](fleet_plan, args)
    print(
        f"fleet {fleet_plan.verb}: {len(fleet_plan.jobs)} stacks, {fleet_plan.concurrency} at once "
        f"({args.engine} engine)",
        file=sys.stderr,
    )

    def progress(r: StackResult) -> None:
        print(
            f"  {r.stack}: {'ok' if r.ok else 'FAILED'} in {r.duration_s:.1f}s", file=sys.stderr, flush=True
        )

    start = time.monotonic()
    results = run_fleet(fleet_plan, runner, on_done=progress)
    wall = time.monotonic() - start
    print(render_table(results, verb=fleet_plan.verb))
    print(f"wall time {wall:.1f}s")
    if args.json_path:
        args.json_path.parent.mkdir(parents=True, exist_ok=True)
        args.json_path.write_text(json.dumps(results_json(fleet_plan, results, wall), indent=2) + "\n")
    return exit_code(results)


if __name__ == "__main__":
    sys.exit(main())
