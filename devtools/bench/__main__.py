"""`make bench`: what eci-aircall costs per operation, against the emulator with real-world latency, beside
the Salesforce CLI.

    python -m devtools.bench [--latency-ms 200] [--sf-rounds 3] [--zero-ms-runs 3] [--fleet 1,4,16]
                          [--target auto|program|probe] [--scenarios create,adopt,login]
                          [--out bench/results/latest.json] [--keep]

Prints one table (`table.py`: `pulumi up` under the real CLI beside an admin's `sf` script, each figure next
to its goal, met or missed as measured), then the details per scenario, and writes all of it as JSON. The
method for the critical-path bound is printed with the results (see METHOD).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import analysis, compare, harness, imports, table, targets
from .harness import REPO, FleetRun, Run, ScenarioResult, Target

#: The emulator's operation name of a health probe (docs/contracts.md §1).
PROBE_OPERATION = "tooling.executeAnonymous"

PICKLE_GOAL_BYTES = 20 * 1024
WALL_GOAL_RATIO = 1.2

METHOD = """\
Critical-path bound: every HTTP call a provider makes is recorded with the URN of the resource whose
provider request made it (devtools/bench/hook/sitecustomize.py: a gRPC interceptor in the dynamic provider
host keeps the URN in a context variable, so calls a provider makes on worker threads given a copy of its
context count for it too; a wrapper on requests' HTTPAdapter.send records each call's send and reply time).
Each resource weighs its observed serial depth: the longest chain of its own calls in which each call
started after the previous one had replied. Calls that overlapped in time ran concurrently and cost one
round trip together (Preflight's reads on worker threads); calls one after another (read, then write) cost
one each. The bound is the heaviest path under that weight through the resource dependency graph recorded
in the state (`dependencies`), plus one login that every call waits for, times the latency per call. The
call-count-weighted path (every call of a resource taken as sequential, the bench's earlier rule) is shown
too: the difference is what concurrency inside resources saves.
Wall time also holds what no latency explains (process start-up, program evaluation, gRPC): "first call →
last reply" leaves the start-up out and is held against the bound too. "observed serial depth" is the
longest run of recorded calls over the whole up that waited for one another: above the bound means
parallelism between resources was left unused."""


def machine() -> dict[str, Any]:
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    try:
        load = Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        load = "?"
    return {
        "load_average_1min_at_start": load,
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "mem_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def run_summary(run: Run | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "ok": run.returncode == 0,
        "error": run.error,
        "wall_s": round(run.wall_s, 3),
        "salesforce_calls": run.salesforce_calls,
        "salesforce_by_operation": run.salesforce_by_operation,
        "other_calls": run.other_by_operation,
        "recorded_calls": len(run.recorded),
        "machine_busy": round(run.machine_busy, 3),
        "cpu_s": round(run.cpu_s, 2),
        "changes": run.data.get("changes"),
    }


class Report:
    def __init__(self, latency_ms: int) -> None:
        self.latency_ms = latency_ms
        self.checks: list[dict[str, str]] = []
        self.findings: list[str] = []

    def check(
        self, scenario: str, figure: str, measured: str, goal: str = "", ok: bool | None = None
    ) -> None:
        verdict = "-" if ok is None else ("ok" if ok else "MISS")
        self.checks.append(
            {"scenario": scenario, "figure": figure, "measured": measured, "goal": goal, "verdict": verdict}
        )

    def scenario(self, s: ScenarioResult) -> dict[str, Any]:
        lat = self.latency_ms / 1000
        name = s.label
        doc: dict[str, Any] = {"label": s.label, "up": run_summary(s.up)}
        if s.up.returncode != 0:
            self.check(name, "up on an empty org", f"FAILED: {s.up.error}", "succeeds", False)
            self.findings.append(f"[{name}] up failed, nothing else measured: {s.up.error}")
            return doc
        n_res = len(s.resources)
        cp = s.critical
        assert cp is not None
        cp_calls = s.critical_by_calls or cp
        bound_s = cp.calls * lat
        ratio = s.up.wall_s / bound_s if bound_s else None
        noop_wall = s.noop.wall_s if s.noop else 0.0
        span = analysis.call_span(s.up.recorded)
        first_call = analysis.first_call_offset(s.up.recorded, s.up.started_at)
        span_ratio = span / bound_s if bound_s else None
        depth = analysis.observed_serial_depth(s.up.recorded)
        self.check(
            name, "up: Salesforce API calls", _ops(s.up.salesforce_calls, s.up.salesforce_by_operation)
        )
        if s.up.other_by_operation:
            self.check(name, "up: other calls (not Salesforce)", _ops(None, s.up.other_by_operation))
        serial = s.up_serial_depth_by_resource or analysis.serial_depth_by_resource(s.up.recorded)

        def depth_of(u: str) -> str:
            depth_u, calls_u = serial.get(u, 0), s.up_calls_by_resource.get(u, 0)
            return f"{depth_u}" if depth_u == calls_u else f"{depth_u} (of {calls_u} calls)"

        chain = " → ".join(f"{analysis.short_name(u)} {depth_of(u)}" for u in cp.chain)
        chain_by_calls = " → ".join(
            f"{analysis.short_name(u)} {s.up_calls_by_resource.get(u, 0)}" for u in cp_calls.chain
        )
        self.check(
            name,
            "up: critical path (serial depth)",
            f"{cp.calls} calls × {self.latency_ms} ms = {bound_s:.1f} s  [login {cp.head_calls} → {chain}]",
        )
        self.check(
            name,
            "up: critical path by call count (each resource's calls as if sequential)",
            f"{cp_calls.calls} calls × {self.latency_ms} ms = {cp_calls.calls * lat:.1f} s  "
            f"[login {cp_calls.head_calls} → {chain_by_calls}]",
        )
        self.check(
            name,
            "up: wall time",
            f"{s.up.wall_s:.1f} s"
            + (f" = {ratio:.2f} × bound" if ratio else "")
            + f" (CPU {s.up.cpu_s:.1f} s; machine {s.up.machine_busy:.0%} busy)",
            f"≤ {WALL_GOAL_RATIO} × bound",
            None if ratio is None else ratio <= WALL_GOAL_RATIO,
        )
        self.check(
            name,
            "up: first call → last reply (no start-up)",
            f"{span:.1f} s"
            + (f" = {span_ratio:.2f} × bound" if span_ratio else "")
            + f"; first call {first_call:.1f} s after start",
            f"≤ {WALL_GOAL_RATIO} × bound",
            None if span_ratio is None else span_ratio <= WALL_GOAL_RATIO,
        )
        self.check(name, "up: observed serial depth", f"{depth} calls (bound {cp.calls})")
        timings = analysis.create_timings(s.up.grpc_events)
        on_path = set(cp.chain)
        # Time resources lost off the wire: a Create waiting for a provider-host worker, or running longer
        # than its serial depth × latency. Half a round trip or more is worth naming; off the bound's chain
        # too, since a wait can make another chain the longest in time.
        idle = []
        for u, t in timings.items():
            where = " (on the bound's chain)" if u in on_path else ""
            if lat and t.queued_s >= 0.5 * lat:
                idle.append(
                    f"{analysis.short_name(u)}{where}: its Create waited {t.queued_s:.2f} s for a free "
                    "provider-host worker (the dynamic provider host serves at most 4 requests at once: "
                    "pulumi/dynamic/__main__.py ThreadPoolExecutor(max_workers=4))"
                )
            # A login the resource's request made (the first call of a run) waits like any other call.
            logins = sum(1 for c in s.up.recorded if c.get("urn") == u and analysis.is_auth(c))
            slack = t.elapsed_s - (serial.get(u, 0) + logins) * lat
            if lat and slack >= 0.5 * lat:
                idle.append(
                    f"{analysis.short_name(u)}{where}: its Create ran {t.elapsed_s:.2f} s for a serial depth "
                    f"of {serial.get(u, 0)}"
                    + (f" + login {logins}" if logins else "")
                    + f" ({slack:.2f} s off the wire: client-side work or calls sent late)"
                )
        if idle:
            self.check(name, "up: time off the wire (≥ half a round trip)", "; ".join(idle))
        marks = analysis.startup_milestones(s.up.grpc_events, s.up.recorded, s.up.started_at)
        if marks:
            self.check(
                name,
                "up: start-up timeline (s after start)",
                ", ".join(f"{k.replace('_', ' ')} {v:.1f}" for k, v in marks.items()),
            )
        if ratio is not None and ratio > WALL_GOAL_RATIO:
            why = [
                f"{first_call:.1f} s pass before the first API call (engine, program and provider start-up; "
                f"the no-op up, with no Salesforce work, takes {noop_wall:.1f} s)",
                f"the calls themselves span {span:.1f} s"
                + (f" = {span_ratio:.2f} × bound" if span_ratio is not None else ""),
            ]
            why.extend(idle)
            gap = analysis.largest_gap_within_a_resource(s.up.recorded)
            if gap is not None and bound_s and gap.seconds > 0.5 * lat:
                why.append(
                    f"{analysis.short_name(gap.urn)} sat idle {gap.seconds:.2f} s between its {gap.after} "
                    f"and {gap.before} calls (client-side work, e.g. building a client, on its path)"
                )
            if depth > cp.calls:
                why.append(
                    f"the run serialised {depth} calls where the dependency graph needs {cp.calls}: "
                    "independent calls waited (the dynamic provider host serves at most 4 requests at once, "
                    "pulumi/dynamic/__main__.py ThreadPoolExecutor(max_workers=4), or a provider serialises)"
                )
            self.findings.append(
                f"[{name}] up wall {s.up.wall_s:.1f} s is {ratio:.2f} × the {bound_s:.1f} s "
                f"critical-path bound (goal ≤ {WALL_GOAL_RATIO}): " + "; ".join(why)
            )
        recorded_sf = sum(
            1 for c in s.up.recorded if analysis.operation(c).startswith(harness.SALESFORCE_OP_PREFIXES)
        )
        if recorded_sf != s.up.salesforce_calls:
            self.findings.append(
                f"[{name}] the call recorder saw {recorded_sf} Salesforce calls, the emulator counted "
                f"{s.up.salesforce_calls}: per-resource attribution (critical path) is approximate"
            )
        for label, later in (("no-op up", s.noop), ("refresh", s.refresh), ("destroy", s.destroy)):
            if later is not None and later.returncode != 0:
                self.findings.append(f"[{name}] {label} failed: {later.error}")
        if s.noop:
            self._zero_calls(name, s.noop)
        if s.refresh:
            # Each named credential's health probe (one executeAnonymous) is allowed on top of its read.
            n_probes = sum(1 for urn in s.pickle_bytes if ":NamedCredential::" in urn)
            probes = min(s.refresh.salesforce_by_operation.get(PROBE_OPERATION, 0), n_probes)
            per = (s.refresh.salesforce_calls - probes) / n_res if n_res else 0.0
            good = s.refresh.returncode == 0 and s.refresh.salesforce_calls <= n_res + n_probes
            self.check(
                name,
                "refresh: Salesforce API calls",
                f"{_ops(s.refresh.salesforce_calls, s.refresh.salesforce_by_operation)} "
                f"for {n_res} resources = {per:.2f}/resource + {probes} health probes, "
                f"{s.refresh.wall_s:.1f} s"
                + (f"  FAILED: {s.refresh.error}" if s.refresh.returncode else ""),
                "≤ 1 per resource + 1 per probe",
                good,
            )
            if not good:
                self.findings.append(
                    f"[{name}] refresh made {s.refresh.salesforce_calls} Salesforce calls "
                    f"for {n_res} resources and {n_probes} probes "
                    f"({_ops(None, s.refresh.salesforce_by_operation)}); goal ≤ 1 per resource + 1 per probe"
                )
        biggest = max(s.pickle_bytes.values(), default=0)
        big_name = max(s.pickle_bytes, key=lambda u: s.pickle_bytes[u], default="")
        self.check(
            name,
            "state: largest pickled provider",
            f"{biggest / 1024:.1f} KB ({analysis.short_name(big_name)}; "
            f"mean {sum(s.pickle_bytes.values()) / max(len(s.pickle_bytes), 1) / 1024:.1f} KB)",
            "≤ 20 KB per resource",
            biggest <= PICKLE_GOAL_BYTES and bool(s.pickle_bytes),
        )
        if biggest > PICKLE_GOAL_BYTES:
            over = sorted(analysis.short_name(u) for u, b in s.pickle_bytes.items() if b > PICKLE_GOAL_BYTES)
            self.findings.append(f"[{name}] pickled provider above 20 KB for: {', '.join(over)}")
        if not s.pickle_bytes:
            self.findings.append(f"[{name}] no `__provider` property found in state")
        self.check(name, "state: whole file", f"{s.state_bytes / 1024:.1f} KB for {n_res} resources")
        if s.destroy:
            self.check(
                name,
                "destroy: Salesforce API calls, wall",
                f"{_ops(s.destroy.salesforce_calls, s.destroy.salesforce_by_operation)}, "
                f"{s.destroy.wall_s:.1f} s"
                + (f"  FAILED: {s.destroy.error}" if s.destroy.returncode else ""),
                "succeeds",
                s.destroy.returncode == 0,
            )
        doc.update(
            {
                "noop_up": run_summary(s.noop),
                "refresh": run_summary(s.refresh),
                "destroy": run_summary(s.destroy),
                "resources": [
                    {
                        "urn": u,
                        "name": analysis.short_name(u),
                        "up_calls": s.up_calls_by_resource.get(u, 0),
                        "up_serial_depth": serial.get(u, 0),
                        "create_queued_s": round(timings[u].queued_s, 3) if u in timings else None,
                        "create_elapsed_s": round(timings[u].elapsed_s, 3) if u in timings else None,
                        "pickle_bytes": s.pickle_bytes.get(u),
                        "depends_on": [analysis.short_name(d) for d in s.dependencies.get(u, [])],
                    }
                    for u in s.resources
                ],
                "critical_path": {
                    "calls": cp.calls,
                    "head_calls": cp.head_calls,
                    "chain": [analysis.short_name(u) for u in cp.chain],
                    "bound_s": round(bound_s, 3),
                    "wall_ratio": None if ratio is None else round(ratio, 3),
                    "calls_span_s": round(span, 3),
                    "calls_span_ratio": None if span_ratio is None else round(span_ratio, 3),
                    "first_call_after_s": round(first_call, 3),
                    "startup_milestones_s": marks,
                    "observed_serial_depth": depth,
                    "weighting": "serial depth",
                    "by_call_count": {
                        "calls": cp_calls.calls,
                        "head_calls": cp_calls.head_calls,
                        "chain": [analysis.short_name(u) for u in cp_calls.chain],
                        "bound_s": round(cp_calls.calls * lat, 3),
                        "wall_ratio": round(s.up.wall_s / (cp_calls.calls * lat), 3)
                        if cp_calls.calls * lat
                        else None,
                    },
                },
                "state": {"file_bytes": s.state_bytes, "max_pickle_bytes": biggest},
            }
        )
        return doc

    def _zero_calls(self, name: str, run: Run) -> None:
        changes = run.data.get("changes") or {}
        changed = {k: v for k, v in changes.items() if k != "same" and v}
        good = run.returncode == 0 and run.salesforce_calls == 0
        self.check(
            name,
            "no-op up: Salesforce API calls",
            f"{_ops(run.salesforce_calls, run.salesforce_by_operation)}, {run.wall_s:.1f} s "
            f"(CPU {run.cpu_s:.1f} s)"
            + (f", changes {changed}" if changed else "")
            + (f"  FAILED: {run.error}" if run.returncode else ""),
            "0 (login included)",
            good,
        )
        if not good:
            self.findings.append(
                f"[{name}] no-op up made {run.salesforce_calls} Salesforce calls "
                f"({_ops(None, run.salesforce_by_operation)}); goal 0"
            )
        if run.other_by_operation:
            self.check(name, "no-op up: other calls (not Salesforce)", _ops(None, run.other_by_operation))

    def fleet(self, runs: Sequence[FleetRun], nproc: int) -> list[dict[str, Any]]:
        base = next((r.wall_s for r in runs if r.n == 1), None)
        docs = []
        for r in runs:
            rel = r.wall_s / base if base else None
            cpu = r.cpu_s + r.emulator_cpu_s
            # With every core busy the run cannot beat cpu / cores, whatever the latency.
            floor = cpu / max(nproc, 1)
            self.check(
                "fleet",
                f"N = {r.n} org stacks in parallel: wall",
                f"{r.wall_s:.1f} s"
                + (f" = {rel:.2f} × N=1" if rel else "")
                + f", {r.ok} ok, {r.failed} failed; "
                f"CPU {cpu:.0f} s ({r.cpu_s / max(r.n, 1):.1f} s/stack + emulators {r.emulator_cpu_s:.0f} s) "
                f"→ floor {floor:.1f} s on {nproc} cores; machine {r.machine_busy:.0%} busy",
                "ideal 1.0 × N=1 (orgs are independent)",
            )
            if r.failed:
                self.findings.append(f"[fleet N={r.n}] {r.failed} stacks failed: {r.errors[0]}")
            if rel is not None and r.n > 1 and rel > 1.5:
                bound_by = "CPU" if r.machine_busy >= 0.85 or floor >= 0.8 * r.wall_s else "wait"
                self.findings.append(
                    f"[fleet N={r.n}] wall {r.wall_s:.1f} s = {rel:.2f} × N=1: {bound_by}-bound on this "
                    f"machine ({r.machine_busy:.0%} of {nproc} cores busy; our {cpu:.0f} CPU-s alone give a "
                    f"{floor:.1f} s floor: each stack runs an engine, the program and a provider host, all "
                    "Python, plus its own emulator org here)"
                )
            docs.append(
                {
                    "n": r.n,
                    "wall_s": round(r.wall_s, 3),
                    "relative_to_n1": None if rel is None else round(rel, 3),
                    "ok": r.ok,
                    "failed": r.failed,
                    "mean_stack_s": round(sum(r.stack_durations) / max(len(r.stack_durations), 1), 3),
                    "cpu_s": round(r.cpu_s, 2),
                    "emulator_cpu_s": round(r.emulator_cpu_s, 2),
                    "cpu_floor_s": round(floor, 2),
                    "machine_busy": round(r.machine_busy, 3),
                    "errors": r.errors,
                }
            )
        return docs

    def table(self) -> str:
        headers = ["scenario", "figure", "measured", "goal", "verdict"]
        rows = [[c[h] for h in headers] for c in self.checks]
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
        widths[2] = min(widths[2], 70)
        out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
        out.append("  ".join("-" * w for w in widths))
        for r in rows:
            out.append("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        return "\n".join(out)


def _ops(total: int | None, by_op: dict[str, int]) -> str:
    parts = ", ".join(f"{k} {v}" for k, v in sorted(by_op.items(), key=lambda kv: (-kv[1], kv[0])))
    if total is None:
        return parts or "none"
    return f"{total}" + (f" ({parts})" if parts else "")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m devtools.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--latency-ms", type=int, default=200, help="injected latency per API call (default 200)")
    p.add_argument("--fleet", default="1,4,16", help="fleet sizes to measure, comma-separated ('' for none)")
    p.add_argument(
        "--sf-rounds",
        type=int,
        default=3,
        help="rounds of `pulumi up` beside the admin's `sf` script, alternating (0: none)",
    )
    p.add_argument("--zero-ms-runs", type=int, default=3, help="`up` runs at 0 ms per call (0: none)")
    p.add_argument("--no-imports", action="store_true", help="leave out the `python -X importtime` profile")
    p.add_argument(
        "--profile",
        action="store_true",
        help="one more `up` at 0 ms with every Python process under cProfile (CPU time): where the CPU goes",
    )
    p.add_argument(
        "--target",
        choices=("auto", "program", "probe"),
        default="auto",
        help="auto: the eci-aircall program if present; probe: the bench's 3-resource self-check program",
    )
    p.add_argument(
        "--scenarios",
        default="create,adopt,login",
        help="program: sharedEci values to measure; login = create through an sfdxAuthUrl (a real login)",
    )
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    p.add_argument("--work-dir", type=Path, help="where orgs and states go (default: a temp dir, removed)")
    p.add_argument("--keep", action="store_true", help="keep the work dir")
    return p.parse_args(argv)


def choose_targets(args: argparse.Namespace) -> list[Target]:
    if args.target == "probe":
        return [targets.probe()]
    chosen = []
    for name in (s.strip() for s in args.scenarios.split(",")):
        if name == "login":
            chosen.append(targets.program("create", login=True))
        elif name:
            chosen.append(targets.program(name))
    return chosen


def run_zero_ms(target: Target, root: Path, runs: int) -> list[Run]:
    """`up` on an empty org at 0 ms per call, `runs` times (the org reset, a fresh state each time)."""
    if runs <= 0:
        return []
    root.mkdir(parents=True, exist_ok=True)
    emu = harness.start_emulator(root / "org", latency_ms=0)
    try:
        done = []
        for i in range(runs):
            emu.reset()
            if target.seed:
                target.seed(emu)
            done.append(harness.run_engine(target, emu, "up", state_dir=root / f"state{i}", work=root))
        return done
    finally:
        emu.stop()


def run_profiled(target: Target, root: Path) -> list[imports.CpuProfile]:
    """One `up` at 0 ms with every Python process profiled (CPU time per thread: the hook's `_profile`)."""
    out = root / "profiles"
    out.mkdir(parents=True, exist_ok=True)
    emu = harness.start_emulator(root / "org", latency_ms=0)
    try:
        if target.seed:
            target.seed(emu)
        harness.run_engine(target, emu, "up", state_dir=root / "state", work=root, profile_dir=out)
    finally:
        emu.stop()
    return imports.read_profiles(out)


def comparison_doc(c: compare.Comparison | None) -> dict[str, Any] | None:
    if c is None:
        return None

    def sf_run(r: Any) -> dict[str, Any]:
        return {
            "ok": r.ok,
            "wall_s": round(r.wall_s, 3),
            "cpu_s": round(r.cpu_s, 2),
            "salesforce_calls": r.salesforce_calls,
            "salesforce_by_operation": r.salesforce_by_operation,
            "commands": [{"sf": c.args, "wall_s": round(c.wall_s, 3), "ok": c.ok} for c in r.commands],
            "failed_at": r.failed_at,
            "error": r.error,
            "seen": {k: v for k, v in r.seen.items() if k not in ("project", "guest")},
        }

    return {
        "latency_ms": c.latency_ms,
        "drift": c.drift,
        "error": c.error,
        "script": compare.script_commands(c.rounds),
        "rounds": [
            {
                "up": run_summary(r.up),
                "noop_up": run_summary(r.noop),
                "refresh": {**(run_summary(r.refresh) or {}), "seen": compare.pulumi_drift_seen(r.refresh)},
                "sf_setup": sf_run(r.sf_setup),
                "sf_rerun": sf_run(r.sf_rerun),
                "sf_drift_check": sf_run(r.sf_drift),
            }
            for r in c.rounds
        ],
    }


def startup_doc(runs: Sequence[Run]) -> list[dict[str, Any]]:
    splits = table.startup_splits(runs)
    cpus = table.cpu_splits(runs)
    return [
        {
            "milestones_s": sp.milestones,
            "segments_s": sp.segments,
            "groups_s": sp.groups,
            "wrap_up_s": sp.wrap_up_s,
            "cpu_s": {"total": c.total_s, "cli": c.cli_s, "program": c.program_s, "provider": c.provider_s},
        }
        for sp, c in zip(splits, cpus, strict=False)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    chosen = choose_targets(args)
    fleet_sizes = [int(x) for x in args.fleet.split(",") if x.strip()]
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="eci-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    report = Report(args.latency_ms)
    doc: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "latency_ms": args.latency_ms,
        "method": METHOD,
        "scenarios": [],
        "fleet": [],
    }
    nproc = int(doc["machine"]["nproc"] or 1)
    inputs = table.Inputs(latency_ms=args.latency_ms, nproc=nproc, program_goals=args.target != "probe")
    print(f"eci-aircall bench: latency {args.latency_ms} ms/call, work dir {work}", file=sys.stderr)

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    profiles: list[imports.CpuProfile] = []
    try:
        program = next((t for t in chosen if t.project_dir == REPO and t.label == "sharedEci=create"), None)
        if program is not None and args.sf_rounds > 0:
            progress(f"  pulumi up beside the sf script, {args.sf_rounds} rounds ...")
            inputs.comparison = compare.run_comparison(
                program,
                work / "compare",
                latency_ms=args.latency_ms,
                rounds=args.sf_rounds,
                progress=progress,
            )
        for i, target in enumerate(chosen):
            progress(f"  scenario {targets.describe(target)} ...")
            result = harness.run_scenario(target, work / f"scenario{i}", latency_ms=args.latency_ms)
            inputs.scenarios.append(result)
            doc["scenarios"].append({"target": targets.describe(target), **report.scenario(result)})
        if args.zero_ms_runs > 0:
            progress(f"  up at 0 ms per call, {args.zero_ms_runs} runs ...")
            inputs.zero_ms = run_zero_ms(chosen[0], work / "zero-ms", args.zero_ms_runs)
        if not args.no_imports and program is not None:
            progress("  imports (python -X importtime) ...")
            inputs.imports = imports.profiles()
        if args.profile:
            progress("  up at 0 ms under the CPU profiler ...")
            profiles = run_profiled(chosen[0], work / "profile")
        fleet_runs = []
        for n in fleet_sizes:
            progress(f"  fleet N={n} ...")
            fleet_runs.append(harness.run_fleet(chosen[0], work / f"fleet{n}", n, latency_ms=args.latency_ms))
        inputs.fleet = fleet_runs
        doc["fleet"] = report.fleet(fleet_runs, nproc)
    finally:
        if not args.keep and args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    rows = table.build(inputs)
    for row in rows:
        if "missed" in row.verdict:
            report.findings.insert(0, f"{row.figure}: {row.pulumi} (goal {row.goal}: {row.verdict})")
    doc["table"] = table.as_json(rows)
    doc["comparison"] = comparison_doc(inputs.comparison)
    doc["startup"] = startup_doc(table.ups(inputs))
    doc["zero_ms"] = [run_summary(r) for r in inputs.zero_ms]
    doc["zero_ms_startup"] = startup_doc(inputs.zero_ms)
    doc["imports"] = [
        {"label": p.label, "total_s": p.total_s, "by_package_s": p.by_package} for p in inputs.imports
    ]
    doc["cpu_profile"] = [
        {"process": p.process, "total_s": p.total_s, "ours": p.ours, "packages": p.packages} for p in profiles
    ]
    doc["checks"] = report.checks
    doc["findings"] = report.findings
    doc["elapsed_s"] = round(time.monotonic() - started, 1)
    m = doc["machine"]
    print(
        f"\neci-aircall benchmark, {doc['date']}, {m['nproc']} cores, {m['mem_gib']} GiB RAM, "
        f"Python {m['python']}, load average {m['load_average_1min_at_start']} at start, "
        f"latency {args.latency_ms} ms per call"
    )
    print("\n" + table.markdown(rows))
    if inputs.comparison and inputs.comparison.rounds:
        print("\nthe sf script: " + "; ".join(compare.script_commands(inputs.comparison.rounds)))
    print("\ndetails per scenario:")
    print(report.table())
    for s in doc["scenarios"]:
        if s.get("resources"):
            print(f"\nper resource ({s['label']}): up calls (of which one after another), pickled provider")
            for r in s["resources"]:
                size = "-" if r["pickle_bytes"] is None else f"{r['pickle_bytes'] / 1024:.1f} KB"
                print(
                    f"  {r['name']:<40} {r['up_calls']:>3} calls ({r['up_serial_depth']} serial)  {size:>9}"
                )
    for p in profiles:
        print(f"\nCPU profile of one `up` at 0 ms, {p.process}: {p.total_s:.2f} CPU-s under cProfile")
        for where, seconds in [*p.ours, *((f"import {k}", v) for k, v in p.packages)]:
            print(f"  {seconds:6.2f}  {where}")
    print("\nfindings (goals missed):" if report.findings else "\nfindings: none, every goal met")
    for f in report.findings:
        print(f"  - {f}")
    print("\nmethod:\n" + METHOD)
    print(f"\nbench took {doc['elapsed_s']} s; JSON: {args.out}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
