"""The bench's one table: `pulumi up` of this project under the real CLI beside the admin's `sf` script, each
figure beside its goal and whether the measurement met it (issue 24's goals; docs/benchmarks.md holds the
table of the last full run).

Pure: it formats what the harness measured. A goal is "met" or "missed" only where the figure was measured;
a figure it cannot judge (no latency, a failed run) says so instead.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import analysis
from .compare import Comparison, Round, pulumi_drift_seen
from .harness import FleetRun, Run, ScenarioResult
from .imports import ImportProfile, heavy_in

# The goals (issue 24), each declared once.
SF_SETUP_RATIO_GOAL = 3.0  # `sf` script wall ÷ `up` wall, at 200 ms per call, sf at its best
SF_DRIFT_RATIO_GOAL = 2.0  # sf's retrieve + diff + query ÷ `pulumi refresh`
WALL_BOUND_RATIO_GOAL = 1.2  # `up` wall ÷ the critical-path bound
ZERO_LATENCY_WALL_GOAL_S = 1.5  # `up` at 0 ms per call
SERIAL_ROUND_TRIPS_OVER_BOUND = 1  # observed serial depth ≤ bound + this
CPU_PER_STACK_GOAL_S = 1.0  # CLI + program + provider, per stack `up`
FLEET_RELATIVE_GOAL = 2.0  # wall of the largest fleet ÷ wall of N = 1
#: GitHub Actions: "A matrix will generate a maximum of 256 jobs per workflow run" (docs.github.com, workflow
#: syntax, jobs.<job_id>.strategy.matrix); "GitHub rounds the minutes and partial minutes each job uses up
#: to the nearest whole minute" (docs.github.com, "About billing for GitHub Actions").
MATRIX_MAX_JOBS = 256
FLEET_ORGS = 500


@dataclass
class Row:
    figure: str
    pulumi: str
    sf: str = ""
    goal: str = ""
    verdict: str = ""  # "met", "missed", "" (no goal), or why it could not be judged

    def as_dict(self) -> dict[str, str]:
        return {
            "figure": self.figure,
            "pulumi": self.pulumi,
            "sf": self.sf,
            "goal": self.goal,
            "verdict": self.verdict,
        }


def verdict(ok: bool | None, detail: str = "") -> str:
    word = "not measured" if ok is None else ("met" if ok else "**missed**")
    return f"{detail}: {word}" if detail else word


def s(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds >= 0.995 else f"{seconds:.2f} s"


def spread(values: Sequence[float]) -> str:
    """`median (min–max)` of a few runs, or the one value."""
    if not values:
        return "-"
    if len(values) == 1:
        return s(values[0])
    return f"{s(statistics.median(values))} ({min(values):.1f}–{max(values):.1f})"


def ops(total: int, by_op: dict[str, int], top: int = 4) -> str:
    ordered = sorted(by_op.items(), key=lambda kv: (-kv[1], kv[0]))
    parts = ", ".join(f"{k.split('.', 1)[-1]} {v}" for k, v in ordered[:top])
    more = sum(v for _, v in ordered[top:])
    return f"{total} ({parts}{f', other {more}' if more else ''})" if parts else f"{total}"


@dataclass
class Inputs:
    latency_ms: int
    comparison: Comparison | None = None
    scenarios: list[ScenarioResult] = field(default_factory=list)
    zero_ms: list[Run] = field(default_factory=list)
    fleet: list[FleetRun] = field(default_factory=list)
    imports: list[ImportProfile] = field(default_factory=list)
    nproc: int = 1
    #: The time and CPU goals are the program's; the probe's figures only show the machinery works.
    program_goals: bool = True

    def judge(self, ok: bool | None, detail: str = "") -> str:
        """A time or CPU goal's verdict, or none where the goals are not this target's."""
        return verdict(ok, detail) if self.program_goals else "no goal (not the program)"


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ups(inp: Inputs) -> list[Run]:
    """Every measured `up` on an empty org at the bench's latency (`sharedEci: create`, access token): the
    comparison's rounds, else the create scenario's (the first scenario's, for another target)."""
    if inp.comparison and inp.comparison.rounds:
        return [r.up for r in inp.comparison.rounds]
    first = next((sc for sc in inp.scenarios if sc.label == "sharedEci=create"), None) or next(
        iter(inp.scenarios), None
    )
    return [first.up] if first and first.up.returncode == 0 else []


def startup_splits(runs: Sequence[Run]) -> list[analysis.StartupSplit]:
    return [
        analysis.startup_split(r.process_events, r.grpc_events, r.recorded, r.started_at)
        for r in runs
        if r.process_events
    ]


def cpu_splits(runs: Sequence[Run]) -> list[analysis.CpuSplit]:
    return [analysis.cpu_split(r.process_events, r.grpc_events, r.cpu_s) for r in runs if r.process_events]


def comparison_rows(inp: Inputs) -> list[Row]:
    c = inp.comparison
    if c is None:
        return []
    if not c.rounds:
        return [Row("beside the Salesforce CLI", f"not measured: {c.error}", goal="", verdict="not measured")]
    rounds = c.rounds
    n = len(rounds)
    rows: list[Row] = []

    def walls(pick: Callable[[Round], float]) -> list[float]:
        return [pick(r) for r in rounds]

    up_w, sf_w = walls(lambda r: r.up.wall_s), walls(lambda r: r.sf_setup.wall_s)
    ratio = statistics.median(sf_w) / statistics.median(up_w)
    first = rounds[0]
    rows.append(
        Row(
            f"set up an empty org: wall (median of {n} round{'s' if n > 1 else ''}, min–max)",
            spread(up_w),
            spread(sf_w) + ("" if first.sf_setup.ok else f", FAILED at `sf {first.sf_setup.failed_at}`"),
            f"`sf` ÷ `pulumi` ≥ {SF_SETUP_RATIO_GOAL:g} ×",
            verdict(ratio >= SF_SETUP_RATIO_GOAL, f"{ratio:.2f} ×"),
        )
    )
    rows.append(
        Row(
            "… Salesforce API calls",
            ops(first.up.salesforce_calls, first.up.salesforce_by_operation),
            ops(first.sf_setup.salesforce_calls, first.sf_setup.salesforce_by_operation),
        )
    )
    up_cpu, sf_cpu = walls(lambda r: r.up.cpu_s), walls(lambda r: r.sf_setup.cpu_s)
    rows.append(
        Row(
            "… client CPU (all its processes; the emulator apart)",
            f"{statistics.median(up_cpu):.1f} CPU-s",
            f"{statistics.median(sf_cpu):.1f} CPU-s",
        )
    )
    commands = first.sf_setup.commands
    rows.append(
        Row(
            "… processes",
            "1 `pulumi up`: the CLI, the program, the provider plugin",
            f"{len(commands)} `sf` commands, one after another (2 deploys), each a Node start: "
            f"{statistics.median([cmd.wall_s for cmd in commands]):.1f} s median per command",
        )
    )
    up_ops, sf_ops = first.up.salesforce_by_operation, first.sf_setup.salesforce_by_operation

    def deploys(by_op: dict[str, int]) -> str:
        return (
            f"{by_op.get('metadata.deploy', 0)} deploys, "
            f"{by_op.get('metadata.checkDeployStatus', 0)} status checks"
        )

    rows.append(
        Row(
            "… Metadata deploys (where the emulator favours `sf`)",
            deploys(up_ops) + " (Preflight's check-only validation)",
            deploys(sf_ops)
            + ": each done at its first status check, as the emulator answers every deploy; a real org "
            "queues deploys, and `sf project deploy start` waits for each",
        )
    )
    noop = first.noop
    rerun = first.sf_rerun
    changed = {k: v for k, v in (noop.data.get("changes") or {}).items() if k != "same" and v}
    step = next((i for i, cmd in enumerate(rerun.commands, 1) if not cmd.ok), 0)
    rows.append(
        Row(
            "run it again on the configured org",
            f"{spread(walls(lambda r: r.noop.wall_s))}, {noop.salesforce_calls} calls, "
            + (f"changes {changed}" if changed else "no change"),
            (
                f"fails at command {step} of {rerun.steps}, `sf {rerun.failed_at}`: "
                f"{rerun.error.split(':', 1)[0]}, after {spread(walls(lambda r: r.sf_rerun.wall_s))}, "
                f"{rerun.salesforce_calls} calls"
            )
            if not rerun.ok
            else f"{spread(walls(lambda r: r.sf_rerun.wall_s))}, {rerun.salesforce_calls} calls",
            "0 calls, no change",
            verdict(noop.returncode == 0 and noop.salesforce_calls == 0 and not changed),
        )
    )
    pr_w, sd_w = walls(lambda r: r.refresh.wall_s), walls(lambda r: r.sf_drift.wall_s)
    d_ratio = statistics.median(sd_w) / statistics.median(pr_w)
    refresh, sf_drift = first.refresh, first.sf_drift
    rows.append(
        Row(
            f"drift check after a change in Setup ({c.drift})",
            f"`pulumi refresh --expect-no-changes`: {spread(pr_w)}, "
            f"{ops(refresh.salesforce_calls, refresh.salesforce_by_operation, 2)}",
            f"`sf project retrieve start` + diff + 2 `sf data query`: {spread(sd_w)}, "
            f"{ops(sf_drift.salesforce_calls, sf_drift.salesforce_by_operation, 2)}",
            f"`sf` ÷ `pulumi` ≥ {SF_DRIFT_RATIO_GOAL:g} ×",
            verdict(d_ratio >= SF_DRIFT_RATIO_GOAL, f"{d_ratio:.2f} ×"),
        )
    )
    seen_sf = sf_drift.seen
    rows.append(
        Row(
            "… what it saw",
            "; ".join(pulumi_drift_seen(refresh)) or "nothing",
            "; ".join(
                [
                    *seen_sf.get("metadata_changed", []),
                    *seen_sf.get("user_changed", []),
                    *seen_sf.get("assignments_missing", []),
                ]
            )
            or "nothing",  # fmt: skip
            "the change, and nothing else",
        )
    )
    rows.append(
        Row(
            "… what it cannot see",
            "write-only values (Aircall API token, consumer secret: Salesforce never returns them; the state "
            "keeps salted hashes, so a change in the config shows, one in Setup does not)",
            "the same write-only values (retrieve leaves out "
            + ", ".join(seen_sf.get("write_only_not_retrieved", []) or ["none"])
            + "); whether the integration works (no callout through the named credentials); a component "
            "deleted and re-created by someone else under the same name (a retrieve has no Id or creator)",
        )
    )
    return rows


def pulumi_rows(inp: Inputs) -> list[Row]:
    rows: list[Row] = []
    lat = inp.latency_ms / 1000
    create = next((sc for sc in inp.scenarios if sc.label == "sharedEci=create"), None)
    measured_ups = ups(inp)
    if create is not None and create.critical is not None and create.up.returncode == 0:
        cp = create.critical
        bound = cp.calls * lat
        chain = " → ".join(
            f"{analysis.short_name(u).removeprefix('eci-aircall-')} "
            f"{(create.up_serial_depth_by_resource or {}).get(u, 0)}"
            for u in cp.chain
        )
        rows.append(
            Row("critical-path bound (serial depth × latency)", f"{cp.calls} calls = {s(bound)}: {chain}")
        )
        wall = _median([r.wall_s for r in measured_ups]) or create.up.wall_s
        ratio = wall / bound if bound else None
        rows.append(
            Row(
                "`up` wall ÷ bound",
                f"{ratio:.2f} × ({s(wall)})" if ratio else "no latency: no bound",
                goal=f"≤ {WALL_BOUND_RATIO_GOAL:g} ×",
                verdict=verdict(None if ratio is None else ratio <= WALL_BOUND_RATIO_GOAL),
            )
        )
        span = analysis.call_span(create.up.recorded)
        rows.append(
            Row(
                "… its first call → last reply ÷ bound (start-up left out)",
                f"{span / bound:.2f} × ({s(span)})" if bound else "-",
            )
        )
        depth = analysis.observed_serial_depth(create.up.recorded)
        most = cp.calls + SERIAL_ROUND_TRIPS_OVER_BOUND
        rows.append(
            Row(
                "serial round trips paid (observed serial depth)",
                f"{depth}",
                goal=f"≤ bound + {SERIAL_ROUND_TRIPS_OVER_BOUND} = {most}",
                verdict=verdict(depth <= most),
            )
        )
    if inp.zero_ms:
        good = [r.wall_s for r in inp.zero_ms if r.returncode == 0]
        rows.append(
            Row(
                f"`up` at 0 ms per call: wall (median of {len(inp.zero_ms)})",
                spread(good) if good else f"FAILED: {inp.zero_ms[0].error}",
                goal=f"≤ {ZERO_LATENCY_WALL_GOAL_S:g} s",
                verdict=inp.judge(bool(good) and statistics.median(good) <= ZERO_LATENCY_WALL_GOAL_S),
            )
        )
    splits = startup_splits(measured_ups)
    if splits:
        for group, label in analysis.STARTUP_GROUPS.items():
            value = _median([sp.groups.get(group) for sp in splits])
            parts = [
                f"{name.split(': ', 1)[-1]} {_median([sp.segments.get(name) for sp in splits]) or 0.0:.2f}"
                for name, *_rest, g in analysis.STARTUP_SEGMENTS
                if g == group
            ]
            rows.append(
                Row(
                    f"start-up: {label}",
                    (s(value) if value is not None else "-") + f" ({'; '.join(parts)})",
                )
            )
        wrap = _median([sp.wrap_up_s for sp in splits])
        if wrap is not None:
            rows.append(Row("after the program: the CLI's wrap-up to its exit", s(wrap)))
    if inp.imports:
        program = next((p for p in inp.imports if p.label == "program"), None)
        text = "; ".join(f"{p.label} {p.total_s:.2f} CPU-s" for p in inp.imports)
        if program is not None:
            heavy = heavy_in(program)
            text += "; the program loads " + (", ".join(heavy) if heavy else "no HTTP/SOAP client library")
        rows.append(Row("imports (CPU of importing, fresh interpreter; split: `python -X importtime`)", text))
    cpus = cpu_splits(measured_ups)
    if cpus:
        total = statistics.median([c.total_s for c in cpus])
        shares = [
            (name, _median([getattr(c, attr) for c in cpus]))
            for name, attr in (("CLI", "cli_s"), ("program", "program_s"), ("provider", "provider_s"))
        ]
        sf_cpu = (
            f"{statistics.median([r.sf_setup.cpu_s for r in inp.comparison.rounds]):.1f} CPU-s"
            if inp.comparison and inp.comparison.rounds
            else ""
        )
        rows.append(
            Row(
                "CPU per stack `up` (its processes; the emulator apart)",
                f"{total:.1f} CPU-s: " + ", ".join(f"{n} {v:.2f}" for n, v in shares if v is not None),
                sf_cpu,
                f"≤ {CPU_PER_STACK_GOAL_S:g} CPU-s",
                inp.judge(total <= CPU_PER_STACK_GOAL_S),
            )
        )
    rows.extend(fleet_rows(inp))
    rows.extend(budget_rows(inp))
    rows.extend(ci_rows(inp, measured_ups))
    return rows


def fleet_rows(inp: Inputs) -> list[Row]:
    if not inp.fleet:
        return []
    base = next((r.wall_s for r in inp.fleet if r.n == 1), None)
    parts = []
    for r in inp.fleet:
        times = f", {r.wall_s / base:.1f} ×" if base and r.n != 1 else ""
        failed = f", {r.failed} FAILED" if r.failed else ""
        parts.append(f"N = {r.n}: {s(r.wall_s)}{times}{failed}")
    per_stack = [r.cpu_s / r.n for r in inp.fleet if r.n]
    largest = max(inp.fleet, key=lambda r: r.n)
    rel = largest.wall_s / base if base else None
    return [
        Row(
            f"org stacks at once on {inp.nproc} cores (`fleet.py`, one emulator org each): wall",
            "; ".join(parts) + f"; {statistics.median(per_stack):.1f} CPU-s per stack",
            goal=f"largest N ≤ {FLEET_RELATIVE_GOAL:g} × N = 1",
            verdict=inp.judge(
                None if rel is None or largest.n == 1 else rel <= FLEET_RELATIVE_GOAL and not largest.failed,
                f"{rel:.1f} ×" if rel and largest.n != 1 else "",
            ),
        )
    ]


def budget_rows(inp: Inputs) -> list[Row]:
    """The budgets met before (no-op `up` 0 calls, login included; `refresh` ≤ 1 call per resource + 1 per
    health probe), per scenario."""
    done = [sc for sc in inp.scenarios if sc.up.returncode == 0 and sc.noop and sc.refresh]
    if not done:
        return []
    names = " / ".join(sc.label.removeprefix("sharedEci=") for sc in done)
    noop_ok = all(
        sc.noop is not None and sc.noop.returncode == 0 and sc.noop.salesforce_calls == 0 for sc in done
    )
    refresh = []
    refresh_ok = True
    for sc in done:
        assert sc.refresh is not None
        probes = sum(1 for urn in sc.pickle_bytes if ":NamedCredential::" in urn)
        allowed = len(sc.resources) + probes
        refresh.append(f"{sc.refresh.salesforce_calls} of {allowed}")
        refresh_ok = refresh_ok and sc.refresh.returncode == 0 and sc.refresh.salesforce_calls <= allowed
    return [
        Row(
            f"no-op `up`: Salesforce API calls ({names})",
            " / ".join(str(sc.noop.salesforce_calls if sc.noop else "-") for sc in done),
            goal="0, login included",
            verdict=verdict(noop_ok),
        ),
        Row(
            f"`refresh`: Salesforce API calls ({names})",
            " / ".join(refresh),
            goal="≤ 1 per resource + 1 per health probe",
            verdict=verdict(refresh_ok),
        ),
    ]


def ci_rows(inp: Inputs, measured_ups: Sequence[Run]) -> list[Row]:
    """500 orgs through the CI matrix (docs/examples/github-actions.yml: one job per org stack) at the
    measured per-stack cost."""
    if not measured_ups:
        return []
    wall = statistics.median([r.wall_s for r in measured_ups])
    cpu = statistics.median([r.cpu_s for r in measured_ups])
    workflows = math.ceil(FLEET_ORGS / MATRIX_MAX_JOBS)
    work_minutes = FLEET_ORGS * wall / 60
    one_runner = FLEET_ORGS * cpu / max(inp.nproc, 1) / 60
    return [
        Row(
            f"{FLEET_ORGS} orgs, CI matrix (one job per stack): runner-minutes of `up`",
            f"{work_minutes:.0f} runner-minutes of `up` ({FLEET_ORGS} × {s(wall)}); billed per job rounded "
            f"up to the minute: ≥ {FLEET_ORGS} runner-minutes, plus each job's set-up (checkout, Python, "
            f"`make venv`, the CLI; not measured here); ≥ {workflows} matrices ({MATRIX_MAX_JOBS} jobs "
            f"each at most). On one {inp.nproc}-core runner instead (`fleet.py`, CPU-bound): "
            f"≈ {one_runner:.0f} min",
        )
    ]


def build(inp: Inputs) -> list[Row]:
    return comparison_rows(inp) + pulumi_rows(inp)


def markdown(rows: Sequence[Row]) -> str:
    head = ["figure", "`pulumi up` (eci-aircall, real CLI)", "admin's `sf` script (log file off)", "goal",
            "measured against the goal"]  # fmt: skip
    out = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        cells = [r.figure, r.pulumi, r.sf, r.goal, r.verdict]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out)


def as_json(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [r.as_dict() for r in rows]
