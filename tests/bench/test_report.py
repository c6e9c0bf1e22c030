"""The bench report's verdicts: each figure against its goal, every miss or failure listed as a finding."""

from __future__ import annotations

import importlib
from typing import Any

from devtools.bench import analysis
from devtools.bench.harness import FleetRun, Run, ScenarioResult

bench_main: Any = importlib.import_module("devtools.bench.__main__")

A = "urn:pulumi:s::p::pulumi-python:dynamic:Resource::a"
B = "urn:pulumi:s::p::pulumi-python:dynamic:Resource::b"
Q = "/services/data/v63.0/query/"


def call(urn: str, t0: float, t1: float, path: str = Q) -> dict[str, Any]:
    return {"urn": urn, "http": "GET", "path": path, "t0": t0, "t1": t1, "grpc": "Create"}


def run(verb: str, total: int, *, wall: float = 1.0, rc: int = 0, recorded: list[Any] | None = None) -> Run:
    return Run(
        verb=verb,
        wall_s=wall,
        returncode=rc,
        data={"changes": {"same": 2}},
        calls={"total": total, "by_operation": {"rest.query": total, "controls.calls": 1}},
        recorded=recorded or [],
        error="error: boom" if rc else "",
        started_at=100.0,
    )


def scenario(
    *,
    up_wall: float,
    refresh_calls: int = 2,
    pickle: int = 300,
    destroy_rc: int = 0,
    recorded: list[dict[str, Any]] | None = None,
) -> ScenarioResult:
    # a (2 calls) → b (1 call): bound 3 calls; at 200 ms that is 0.6 s.
    if recorded is None:
        recorded = [call(A, 101.0, 101.2), call(A, 101.2, 101.4), call(B, 101.4, 101.6)]
    deps = {A: [], B: [A]}
    weights = analysis.calls_by_resource(recorded)
    bounds = analysis.critical_path_bounds(deps, recorded)
    return ScenarioResult(
        label="t",
        latency_ms=200,
        up=run("up", 3, wall=up_wall, recorded=recorded),
        noop=run("up", 0, wall=0.5),
        refresh=run("refresh", refresh_calls),
        destroy=run("destroy", 2, rc=destroy_rc),
        resources=[A, B],
        dependencies=deps,
        pickle_bytes={A: pickle, B: 200},
        state_bytes=5000,
        critical=bounds.by_depth,
        critical_by_calls=bounds.by_calls,
        up_calls_by_resource=weights,
        up_serial_depth_by_resource=analysis.serial_depth_by_resource(recorded),
    )


def verdicts(report: Any) -> dict[str, str]:
    return {c["figure"]: c["verdict"] for c in report.checks}


def test_wall_within_1_2_times_the_bound_is_ok_and_nothing_is_reported() -> None:
    report = bench_main.Report(200)
    doc = report.scenario(scenario(up_wall=0.7))
    assert doc["critical_path"]["calls"] == 3 and doc["critical_path"]["bound_s"] == 0.6
    v = verdicts(report)
    assert v["up: wall time"] == "ok"
    assert v["no-op up: Salesforce API calls"] == "ok"
    assert v["refresh: Salesforce API calls"] == "ok"
    assert v["state: largest pickled provider"] == "ok"
    assert report.findings == []


def test_a_slow_up_is_a_miss_with_its_start_up_share_explained() -> None:
    report = bench_main.Report(200)
    report.scenario(scenario(up_wall=3.0))
    assert verdicts(report)["up: wall time"] == "MISS"
    (finding,) = report.findings
    assert "5.00 × the 0.6 s critical-path bound" in finding
    assert "1.0 s pass before the first API call" in finding


def test_more_than_one_refresh_call_per_resource_and_big_pickles_are_findings() -> None:
    report = bench_main.Report(200)
    report.scenario(scenario(up_wall=0.7, refresh_calls=3, pickle=25 * 1024))
    v = verdicts(report)
    assert v["refresh: Salesforce API calls"] == "MISS"
    assert v["state: largest pickled provider"] == "MISS"
    assert any("refresh made 3 Salesforce calls" in f for f in report.findings)
    assert any("above 20 KB for: a" in f for f in report.findings)


def test_a_failed_destroy_is_a_finding_not_just_a_table_cell() -> None:
    report = bench_main.Report(200)
    report.scenario(scenario(up_wall=0.7, destroy_rc=1))
    assert verdicts(report)["destroy: Salesforce API calls, wall"] == "MISS"
    assert "[t] destroy failed: error: boom" in report.findings


def test_fleet_rows_are_relative_to_n1_and_cpu_saturation_is_named() -> None:
    report = bench_main.Report(200)
    runs = [
        FleetRun(
            n=1, wall_s=2.0, ok=1, failed=0, stack_durations=[2.0], errors=[], cpu_s=2.0, machine_busy=0.5
        ),
        FleetRun(
            n=4,
            wall_s=8.0,
            ok=4,
            failed=0,
            stack_durations=[7.0] * 4,
            errors=[],
            cpu_s=8.0,
            machine_busy=0.98,
        ),
    ]
    docs = report.fleet(runs, nproc=2)
    assert [d["relative_to_n1"] for d in docs] == [1.0, 4.0]
    assert docs[1]["cpu_floor_s"] == 4.0
    assert any("[fleet N=4]" in f and "CPU-bound" in f for f in report.findings)


def test_wall_is_held_against_the_serial_depth_bound_and_the_call_count_bound_is_shown_labelled() -> None:
    # a makes 4 calls all in flight together (depth 1), then b 1 call: bound 2 × 200 ms = 0.4 s, whereas
    # counting a's calls as sequential gives 5 × 200 ms = 1.0 s.
    recorded = [call(A, 101.0, 101.2 + i / 100) for i in range(4)] + [call(B, 101.3, 101.5)]
    report = bench_main.Report(200)
    doc = report.scenario(scenario(up_wall=0.9, recorded=recorded))
    cp = doc["critical_path"]
    assert (cp["calls"], cp["bound_s"], cp["weighting"]) == (2, 0.4, "serial depth")
    assert (cp["by_call_count"]["calls"], cp["by_call_count"]["bound_s"]) == (5, 1.0)
    # 0.9 s is within 1.2 × the call-count figure but 2.25 × the real bound: a miss, not hidden.
    assert verdicts(report)["up: wall time"] == "MISS"
    assert any("2.25 × the 0.4 s critical-path bound" in f for f in report.findings)
    measured = {c["figure"]: c["measured"] for c in report.checks}
    assert "[login 0 → a 1 (of 4 calls) → b 1]" in measured["up: critical path (serial depth)"]
    by_count = measured["up: critical path by call count (each resource's calls as if sequential)"]
    assert by_count.startswith("5 calls × 200 ms = 1.0 s") and "a 4 → b 1" in by_count
    assert {r["name"]: r["up_serial_depth"] for r in doc["resources"]} == {"a": 1, "b": 1}


def test_a_create_waiting_for_a_provider_worker_and_one_running_off_the_wire_are_named() -> None:
    s = scenario(up_wall=3.0)
    svc = "pulumirpc.ResourceProvider"
    s.up.grpc_events = [
        {"service": svc, "grpc": "Check", "urn": A, "t0": 100.9, "t1": 100.95},
        {"service": svc, "grpc": "Create", "urn": A, "t0": 100.95, "t1": 101.4},  # 2 calls: 0.45 s, ok
        {"service": svc, "grpc": "Check", "urn": B, "t0": 101.0, "t1": 101.01},  # ready early,
        {"service": svc, "grpc": "Create", "urn": B, "t0": 101.39, "t1": 101.6},  # served 0.38 s later,
    ]  # and ran 0.21 s for one call: 0.01 s off the wire
    report = bench_main.Report(200)
    doc = report.scenario(s)
    assert {r["name"]: r["create_queued_s"] for r in doc["resources"]} == {"a": 0.0, "b": 0.38}
    (finding,) = report.findings
    assert "b (on the bound's chain): its Create waited 0.38 s for a free provider-host worker" in finding
    assert "off the wire" not in finding
    s.up.grpc_events[3] = {"service": svc, "grpc": "Create", "urn": B, "t0": 101.01, "t1": 101.5}
    report = bench_main.Report(200)
    report.scenario(s)
    (finding,) = report.findings
    assert (
        "b (on the bound's chain): its Create ran 0.49 s for a serial depth of 1 (0.29 s off the wire"
        in finding
    )
    assert "waited" not in finding.split("critical-path bound")[1].split("pass before")[1]
