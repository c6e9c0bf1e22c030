"""`make bench` machinery end to end, tiny: the probe program (costs known exactly), latency 0, fleet N = 1.

If this passes, the figures `make bench` prints for the real program come from working plumbing: calls are
counted by the emulator and attributed to the right resources, the critical path follows the state's
dependencies, state sizes are read from the file backend, and fleet.py runs (the Automation API over the real
CLI).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devtools.bench import analysis
from devtools.bench.harness import REPO

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("bench")
    out = work / "latest.json"
    proc = subprocess.run(
        [sys.executable, "-m", "devtools.bench", "--target", "probe", "--latency-ms", "0", "--fleet", "1"]
        + ["--zero-ms-runs", "1", "--work-dir", str(work / "runs"), "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc: dict[str, Any] = json.loads(out.read_text())
    doc["_stdout"] = proc.stdout
    doc["_work"] = str(work / "runs")
    return doc


def test_up_on_an_empty_org_counts_exactly_the_probes_three_creates(bench: dict[str, Any]) -> None:
    (scenario,) = bench["scenarios"]
    up = scenario["up"]
    assert up["ok"], up["error"]
    assert up["salesforce_calls"] == 3
    assert up["salesforce_by_operation"] == {"rest.sobject.create": 3}
    # The recorder saw what the emulator counted: attribution covers every call.
    assert up["recorded_calls"] == 3


def test_calls_are_attributed_to_the_resource_that_made_them(bench: dict[str, Any]) -> None:
    resources = {r["name"]: r for r in bench["scenarios"][0]["resources"]}
    assert {n: r["up_calls"] for n, r in resources.items()} == {"a": 1, "b": 1, "c": 1}
    assert "a" in resources["b"]["depends_on"]


def test_critical_path_follows_the_dependency_b_on_a(bench: dict[str, Any]) -> None:
    cp = bench["scenarios"][0]["critical_path"]
    assert cp["calls"] == 2 and cp["chain"] == ["a", "b"] and cp["head_calls"] == 0
    assert cp["bound_s"] == 0  # latency 0: no wall-time verdict is possible, and none is claimed
    wall = next(c for c in bench["checks"] if c["figure"] == "up: wall time")
    assert wall["verdict"] == "-"


def test_noop_refresh_and_destroy_are_measured_against_their_goals(bench: dict[str, Any]) -> None:
    s = bench["scenarios"][0]
    assert s["noop_up"]["ok"] and s["noop_up"]["salesforce_calls"] == 0
    assert s["refresh"]["salesforce_by_operation"] == {"rest.sobject.read": 3}
    assert s["destroy"]["salesforce_by_operation"] == {"rest.sobject.delete": 3}
    verdicts = {c["figure"]: c["verdict"] for c in bench["checks"] if c["scenario"] == "probe"}
    assert verdicts["no-op up: Salesforce API calls"] == "ok"
    assert verdicts["refresh: Salesforce API calls"] == "ok"
    assert verdicts["destroy: Salesforce API calls, wall"] == "ok"


def test_state_sizes_come_from_the_pickled_provider_of_each_resource(bench: dict[str, Any]) -> None:
    s = bench["scenarios"][0]
    sizes = [r["pickle_bytes"] for r in s["resources"]]
    assert len(sizes) == 3 and all(isinstance(b, int) and b > 1000 for b in sizes)
    assert s["state"]["max_pickle_bytes"] == max(sizes)
    # Inputs and outputs each hold the pickle, so the file is larger than the pickles once over.
    assert s["state"]["file_bytes"] > sum(sizes)


def test_fleet_of_one_runs_through_fleet_py_and_the_local_engine(bench: dict[str, Any]) -> None:
    (run,) = bench["fleet"]
    assert run["n"] == 1 and run["ok"] == 1 and run["failed"] == 0 and run["relative_to_n1"] == 1.0
    assert run["wall_s"] > 0


def test_report_prints_the_table_findings_and_method(bench: dict[str, Any]) -> None:
    out = bench["_stdout"]
    assert "| figure | `pulumi up` (eci-aircall, real CLI) |" in out
    assert "scenario" in out and "verdict" in out and "Critical-path bound" in out
    assert "findings: none, every goal met" in out
    assert bench["machine"]["nproc"] >= 1 and bench["latency_ms"] == 0


def test_work_dir_keeps_the_call_logs_with_urns(bench: dict[str, Any]) -> None:
    logs = sorted(Path(bench["_work"]).glob("scenario0/calls-up-*.jsonl"))
    assert logs
    calls = analysis.read_call_log(logs[0])
    assert {analysis.short_name(c["urn"]) for c in calls} == {"a", "b", "c"}
    assert {c["grpc"] for c in calls} == {"Create"}


def test_start_up_timeline_orders_engine_provider_and_first_call(bench: dict[str, Any]) -> None:
    marks = bench["scenarios"][0]["critical_path"]["startup_milestones_s"]
    order = ["first_registration", "provider_first_request", "first_create", "first_api_call"]
    assert list(marks) == order
    # The engine may start the provider host before the program registers anything; a create, though,
    # needs a registration, and the probe's first API call happens inside a create.
    assert marks["first_registration"] <= marks["first_create"] <= marks["first_api_call"]
    assert marks["provider_first_request"] <= marks["first_create"]


def test_the_one_table_is_in_the_json_with_the_probes_budgets_met(bench: dict[str, Any]) -> None:
    rows = {r["figure"].split(" (")[0]: r for r in bench["table"]}
    assert rows["no-op `up`: Salesforce API calls"]["verdict"] == "met"
    assert rows["`refresh`: Salesforce API calls"]["pulumi"] == "3 of 3"
    # The probe is not the program: no `sf` script beside it, no import profile of the program, and the
    # program's time and CPU goals are not held against it (its figures are shown, not judged).
    assert bench["comparison"] is None and bench["imports"] == []
    assert rows["`up` at 0 ms per call: wall"]["verdict"] == "no goal (not the program)"
    assert rows["CPU per stack `up`"]["verdict"] == "no goal (not the program)"


def test_the_zero_latency_up_is_measured_with_its_start_up_split(bench: dict[str, Any]) -> None:
    (zero,) = bench["zero_ms"]
    assert zero["ok"] and zero["salesforce_calls"] == 3
    (split,) = bench["zero_ms_startup"]
    assert set(split["groups_s"]) == {"cli", "program", "provider", "first_call"}
    cpu = split["cpu_s"]
    assert cpu["program"] > 0 and cpu["provider"] > 0 and cpu["cli"] >= 0
    assert abs(cpu["cli"] + cpu["program"] + cpu["provider"] - cpu["total"]) < 0.01
