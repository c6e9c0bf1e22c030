"""Benchmark machinery: emulator processes, engine runs with the call recorder, one scenario, the fleet."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devtools.sf_emulator.client import EmulatorHandle

from . import analysis

REPO = Path(__file__).resolve().parents[2]
HOOK_DIR = Path(__file__).resolve().parent / "hook"
# The emulator's Salesforce API operations (docs/contracts.md §1; `total` counts exactly these).
SALESFORCE_OP_PREFIXES = ("auth.", "rest.", "metadata.", "connect.", "tooling.", "partner.")


# --- emulator processes


def start_emulator(
    state_dir: Path, *, latency_ms: int, settings: Mapping[str, Any] | None = None
) -> EmulatorHandle:
    settings_file = None
    if settings:
        state_dir.mkdir(parents=True, exist_ok=True)
        settings_file = state_dir / "settings.json"
        settings_file.write_text(json.dumps(dict(settings)))
    return EmulatorHandle(
        state_dir,
        latency_ms=latency_ms,
        settings_file=str(settings_file) if settings_file else None,
        env=_env_without_hook(),
    )


def start_emulators(root: Path, n: int, *, latency_ms: int) -> list[EmulatorHandle]:
    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(start_emulator, root / f"org{i:02d}", latency_ms=latency_ms) for i in range(n)]
        started: list[EmulatorHandle] = []
        errors: list[BaseException] = []
        for f in futures:
            try:
                started.append(f.result())
            except Exception as exc:  # keep going so every started one is stopped below
                errors.append(exc)
    if errors:
        for emu in started:
            emu.stop()
        raise RuntimeError(f"{len(errors)} of {n} emulators failed to start: {errors[0]}")
    return started


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc; 0 where unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all cores from /proc/stat; (0, 0) where unavailable."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return (0, 0)
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already inside user/nice
    return (total - idle, total)


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 0.0


def _env_without_hook() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("ECI_BENCH_CALL_LOG", None)
    return env


# --- the program under test


@dataclass(frozen=True)
class Target:
    """A Pulumi project and how to point one of its stacks at an emulator org."""

    label: str
    project_dir: Path
    stack: str
    connection: Callable[[EmulatorHandle], tuple[dict[str, str], dict[str, str]]]
    extra_config: Mapping[str, str] = field(default_factory=dict)
    seed: Callable[[EmulatorHandle], None] | None = (
        None  # before the measured runs (e.g. shared artifacts to adopt)
    )

    def config_for(self, emu: EmulatorHandle) -> tuple[dict[str, str], dict[str, str]]:
        config, secrets = self.connection(emu)
        return {**config, **self.extra_config}, secrets


BENCH_PASSPHRASE = "eci-aircall-bench"  # protects only the throw-away states under the bench's work dir


def engine_env(
    call_log: Path | None, journal_dir: Path | None = None, profile_dir: Path | None = None
) -> dict[str, str]:
    env = dict(os.environ)
    if profile_dir is not None:  # the hook's CPU profile of every Python process (sitecustomize._profile)
        env["ECI_BENCH_PROFILE_DIR"] = str(profile_dir)
    env.setdefault("PULUMI_CONFIG_PASSPHRASE", BENCH_PASSPHRASE)
    if journal_dir is not None:  # the providers' create journal: the bench's own, not ~/.eci-aircall
        env["ECI_CREATE_JOURNAL_DIR"] = str(journal_dir)
    paths = [str(HOOK_DIR), str(REPO)] if call_log or profile_dir else [str(REPO)]
    env["PYTHONPATH"] = os.pathsep.join([*paths, *filter(None, [env.get("PYTHONPATH")])])
    if call_log:
        env["ECI_BENCH_CALL_LOG"] = str(call_log)
    else:
        env.pop("ECI_BENCH_CALL_LOG", None)
    return env


class EmulatorCounts:
    """The emulator's call counters after a run (`/__emulator/calls`), read the same way for every client."""

    calls: dict[str, Any]

    @property
    def salesforce_calls(self) -> int:
        return int(self.calls.get("total", 0))

    @property
    def salesforce_by_operation(self) -> dict[str, int]:
        by_op = self.calls.get("by_operation") or {}
        return {k: int(v) for k, v in sorted(by_op.items()) if k.startswith(SALESFORCE_OP_PREFIXES)}


@dataclass
class Run(EmulatorCounts):
    verb: str
    wall_s: float
    returncode: int
    data: dict[str, Any]
    calls: dict[str, Any]  # the emulator's /__emulator/calls after the run
    recorded: list[dict[str, Any]]  # the hook's per-call records
    grpc_events: list[dict[str, Any]] = field(default_factory=list)  # the hook's gRPC request records
    # the hook's process records (start, exit), gRPC server creations and unpickling times
    process_events: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    started_at: float = 0.0  # epoch seconds, comparable with the records' t0/t1
    machine_busy: float = 0.0  # share of all cores busy during the run, any process (contention shows here)
    cpu_s: float = 0.0  # CPU of the engine and the processes it waited for (program, provider host)

    @property
    def other_by_operation(self) -> dict[str, int]:
        by_op = self.calls.get("by_operation") or {}
        return {
            k: int(v)
            for k, v in sorted(by_op.items())
            if not k.startswith(SALESFORCE_OP_PREFIXES) and not k.startswith(("controls", "emulator"))
        }


def run_engine(
    target: Target,
    emu: EmulatorHandle,
    verb: str,
    *,
    state_dir: Path,
    work: Path,
    expect_no_changes: bool = False,
    profile_dir: Path | None = None,
) -> Run:
    from devtools.pulumi_cli import api

    config, secrets = target.config_for(emu)
    call_log = work / f"calls-{verb}-{time.monotonic_ns()}.jsonl"
    env = engine_env(call_log, work / "journal", profile_dir)
    # The stack and its config first, untimed (`pulumi stack init`, `pulumi config set --secret`): `run`
    # then finds them in place, and the figures are the verb's alone.
    where: dict[str, Any] = {
        "stack": target.stack,
        "cwd": target.project_dir,
        "state_dir": state_dir,
        "config": config,
        "secrets": secrets,
        "env": env,
    }
    api.prepare(**where)
    emu.reset_calls()
    started_at = time.time()
    ticks = machine_cpu_ticks()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    result = api.run(verb, **where, expect_no_changes=expect_no_changes, check=False)
    wall = time.monotonic() - start
    busy = busy_share(ticks, machine_cpu_ticks())
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime)
    error = ""
    if result.returncode != 0:
        from tools.fleet import first_error_line

        error = (
            first_error_line(result.stderr or result.stdout, secrets.values()) or f"exit {result.returncode}"
        )
    return Run(
        verb=verb,
        wall_s=wall,
        returncode=result.returncode,
        data=dict(result.data or {}),
        calls=emu.calls(),
        recorded=analysis.read_call_log(call_log),
        grpc_events=analysis.read_grpc_log(call_log),
        process_events=analysis.read_process_log(call_log),
        error=error,
        started_at=started_at,
        machine_busy=busy,
        cpu_s=cpu,
    )


# --- one scenario: up on an empty org, no-op up, refresh, state sizes, destroy


@dataclass
class ScenarioResult:
    label: str
    latency_ms: int
    up: Run
    noop: Run | None = None
    refresh: Run | None = None
    destroy: Run | None = None
    resources: list[str] = field(default_factory=list)  # managed custom resources (URNs) after up
    dependencies: dict[str, list[str]] = field(default_factory=dict)
    pickle_bytes: dict[str, int] = field(default_factory=dict)
    state_bytes: int = 0
    critical: analysis.CriticalPath | None = None  # the bound: resources weighted by their serial depth
    critical_by_calls: analysis.CriticalPath | None = None  # resources weighted by their call count
    up_calls_by_resource: dict[str, int] = field(default_factory=dict)
    up_serial_depth_by_resource: dict[str, int] = field(default_factory=dict)


def _fresh(root: Path) -> None:
    """Every measurement starts from an empty org and no state, also in a reused --work-dir."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)


def run_scenario(target: Target, root: Path, *, latency_ms: int) -> ScenarioResult:
    _fresh(root)
    emu = start_emulator(root / "org", latency_ms=latency_ms)
    state_dir = root / "state"
    try:
        if target.seed:
            target.seed(emu)
        up = run_engine(target, emu, "up", state_dir=state_dir, work=root)
        result = ScenarioResult(label=target.label, latency_ms=latency_ms, up=up)
        if up.returncode != 0:
            return result
        state_file = analysis.find_state_file(state_dir, target.stack)
        state = json.loads(state_file.read_text())
        resources = analysis.deployment_resources(state)
        managed = [r for r in resources if analysis.is_managed_custom(r)]
        result.resources = [str(r["urn"]) for r in managed]
        result.dependencies = analysis.dependency_graph(resources)
        result.pickle_bytes = analysis.provider_pickle_sizes(resources)
        result.state_bytes = state_file.stat().st_size
        result.up_calls_by_resource = analysis.calls_by_resource(up.recorded)
        result.up_serial_depth_by_resource = analysis.serial_depth_by_resource(up.recorded)
        bounds = analysis.critical_path_bounds(result.dependencies, up.recorded)
        result.critical, result.critical_by_calls = bounds.by_depth, bounds.by_calls
        result.noop = run_engine(target, emu, "up", state_dir=state_dir, work=root)
        result.refresh = run_engine(target, emu, "refresh", state_dir=state_dir, work=root)
        result.destroy = run_engine(target, emu, "destroy", state_dir=state_dir, work=root)
        return result
    finally:
        emu.stop()


# --- the fleet: N org stacks at once through fleet.py (the Automation API over the real CLI), one emulator
# per stack


@dataclass
class FleetRun:
    n: int
    wall_s: float
    ok: int
    failed: int
    stack_durations: list[float]
    errors: list[str]
    cpu_s: float = 0.0  # fleet.py and everything it ran (CLIs, programs, provider plugins)
    emulator_cpu_s: float = 0.0  # the N emulator processes during the run
    machine_busy: float = 0.0  # share of all cores busy during the run (any process: others share the box)


def overlay_project(target: Target, dest: Path, stacks: list[str]) -> Path:
    """A project dir that shares the target's code (symlinks) but has its own stack files, one per fleet
    stack, each a copy of the target stack's file: fleet stacks need a config file like real orgs do."""
    dest.mkdir(parents=True, exist_ok=True)
    project_doc = yaml.safe_load((target.project_dir / "Pulumi.yaml").read_text()) or {}
    stack_dir_name = str(project_doc.get("stackConfigDir") or ".")
    for entry in target.project_dir.iterdir():
        if entry.name in (stack_dir_name, ".pulumi", ".state", ".demo", "bench") or entry.name.startswith(
            "Pulumi."
        ):
            continue
        (dest / entry.name).symlink_to(entry)
    shutil.copy(target.project_dir / "Pulumi.yaml", dest / "Pulumi.yaml")
    stack_dir = dest / stack_dir_name
    stack_dir.mkdir(parents=True, exist_ok=True)
    source = target.project_dir / stack_dir_name / f"Pulumi.{target.stack}.yaml"
    body = source.read_text() if source.exists() else "config: {}\n"
    for s in stacks:
        (stack_dir / f"Pulumi.{s}.yaml").write_text(body)
    return dest


def run_fleet(target: Target, root: Path, n: int, *, latency_ms: int) -> FleetRun:
    stacks = [f"bench{i:02d}" for i in range(n)]
    _fresh(root)
    emus = start_emulators(root / "orgs", n, latency_ms=latency_ms)
    try:
        project = overlay_project(target, root / "project", stacks)
        from devtools.pulumi_cli import api

        # fleet.py drives `pulumi` from PATH through the Automation API: the CLI this run uses, offline, on a
        # file backend of the fleet's own.
        (root / "state").mkdir(parents=True, exist_ok=True)
        env = api.cli_env(root / "state", engine_env(None, root / "journal"))
        env["PATH"] = os.pathsep.join([str(Path(api.pulumi_binary()).parent), env.get("PATH", "")])
        cmd = [sys.executable, "tools/fleet.py", "up", "--stacks", ",".join(stacks)]
        cmd += ["--parallel", str(n), "--work-dir", str(project), "--backend-url", (root / "state").as_uri()]
        cmd += ["--json", str(root / "fleet.json")]
        # Per-stack connection through environment variables, the way a CI job passes each org's secrets.
        for key, value in target.extra_config.items():
            cmd += ["-c", f"{key}={value}"]
        for stack, emu in zip(stacks, emus, strict=True):
            config, secrets = target.connection(emu)
            for i, (key, value) in enumerate(config.items()):
                env[f"BENCH_C{i}_{stack.upper()}"] = value
                if stack == stacks[0]:
                    cmd += ["--config-env", f"{key}=BENCH_C{i}_{{STACK}}"]
            for i, (key, value) in enumerate(secrets.items()):
                env[f"BENCH_S{i}_{stack.upper()}"] = value
                if stack == stacks[0]:
                    cmd += ["--secret-env", f"{key}=BENCH_S{i}_{{STACK}}"]
        # CPU, to tell a latency-bound fleet from a CPU-bound one: children's rusage covers fleet.py and every
        # process it waited for; the emulators (our children too, but still running) are read from /proc.
        emu_cpu_before = sum(process_cpu_s(e.proc.pid) for e in emus if e.proc)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy_before = machine_cpu_ticks()
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        busy_after = machine_cpu_ticks()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        emu_cpu = sum(process_cpu_s(e.proc.pid) for e in emus if e.proc) - emu_cpu_before
        doc = json.loads((root / "fleet.json").read_text()) if (root / "fleet.json").exists() else {}
        stacks_doc = doc.get("stacks") or []
        if not stacks_doc:
            raise RuntimeError(f"fleet.py produced no results (exit {proc.returncode}): {proc.stderr[-500:]}")
        return FleetRun(
            n=n,
            wall_s=float(doc["wall_s"]),
            ok=sum(1 for s in stacks_doc if s["ok"]),
            failed=sum(1 for s in stacks_doc if not s["ok"]),
            stack_durations=[float(s["duration_s"]) for s in stacks_doc],
            errors=[f"{s['stack']}: {s['error']}" for s in stacks_doc if not s["ok"]],
            cpu_s=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
            emulator_cpu_s=emu_cpu,
            machine_busy=busy_share(busy_before, busy_after),
        )
    finally:
        for emu in emus:
            emu.stop()
