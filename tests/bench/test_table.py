"""The bench's one table: `pulumi up` beside the admin's `sf` script, each figure against its goal, met or
missed as measured, and never judged where nothing was measured (pure formatting of made-up results)."""

from __future__ import annotations

from typing import Any

from devtools.bench import table
from devtools.bench.compare import Comparison, Round
from devtools.bench.harness import FleetRun, Run
from devtools.bench.sf_admin import SfCommand, SfRun

SITE = "urn:pulumi:demo::eci-aircall::pulumi-python:dynamic:Resource::eci-aircall-site"


def run(verb: str, wall: float, calls: int, *, cpu: float = 2.0, changed: bool = False) -> Run:
    steps = [{"urn": SITE, "op": "update", "inputDiff": ["clickjack_protection_level"]}] if changed else []
    return Run(
        verb, wall, 1 if changed else 0, {"changes": {"same": 13}, "steps": steps},
        {"total": calls, "by_operation": {"rest.query": calls}}, [], cpu_s=cpu,
    )  # fmt: skip


def sf_run(label: str, wall: float, calls: int, *, failed_at: str = "", **seen: Any) -> SfRun:
    commands = [
        SfCommand("data query --query", wall / 2, True),
        SfCommand("data create record", wall / 2, not failed_at),
    ]
    return SfRun(
        label, wall, 6.0, {"total": calls, "by_operation": {"rest.query": calls}}, commands, steps=7,
        failed_at=failed_at, error="DUPLICATE_USERNAME: Duplicate Username." if failed_at else "", seen=seen,
    )  # fmt: skip


def comparison(up_wall: float, sf_wall: float, refresh_wall: float, drift_wall: float) -> Comparison:
    rounds = [
        Round(
            up=run("up", up_wall, 44),
            noop=run("up", 1.5, 0),
            refresh=run("refresh", refresh_wall, 13, changed=True),
            sf_setup=sf_run("setup", sf_wall, 22),
            sf_rerun=sf_run("re-run", 2.6, 3, failed_at="data create record"),
            sf_drift=sf_run(
                "drift check",
                drift_wall,
                7,
                metadata_changed=["CustomSite VoiceConnector: clickjackProtectionLevel SameOriginOnly -> X"],
                write_only_not_retrieved=["NamedCredential Aircall: password"],
            ),  # fmt: skip
        )
    ]
    return Comparison(latency_ms=200, rounds=rounds, drift="site clickjack changed")


def rows(c: Comparison | None = None, **kw: Any) -> dict[str, table.Row]:
    built = table.build(table.Inputs(latency_ms=200, comparison=c, **kw))
    return {r.figure.split(" (")[0]: r for r in built}


def test_sf_three_times_slower_meets_the_setup_goal_and_below_misses_it() -> None:
    met = rows(comparison(up_wall=5.0, sf_wall=15.5, refresh_wall=2.0, drift_wall=4.5))
    assert met["set up an empty org: wall"].verdict == "3.10 ×: met"
    assert (met["set up an empty org: wall"].pulumi, met["set up an empty org: wall"].sf) == (
        "5.0 s",
        "15.5 s",
    )
    assert met["drift check after a change in Setup"].verdict == "2.25 ×: met"
    missed = rows(comparison(up_wall=6.0, sf_wall=14.7, refresh_wall=3.0, drift_wall=5.4))
    assert missed["set up an empty org: wall"].verdict == "2.45 ×: **missed**"
    assert missed["drift check after a change in Setup"].verdict == "1.80 ×: **missed**"


def test_the_rerun_row_says_where_sf_stopped_and_judges_pulumis_zero_calls() -> None:
    r = rows(comparison(5.0, 15.5, 2.0, 4.5))["run it again on the configured org"]
    assert r.verdict == "met" and r.pulumi.startswith("1.5 s, 0 calls, no change")
    assert r.sf.startswith("fails at command 2 of 7, `sf data create record`: DUPLICATE_USERNAME")


def test_what_each_drift_check_saw_and_cannot_see_is_reported_from_the_run() -> None:
    r = rows(comparison(5.0, 15.5, 2.0, 4.5))
    assert r["… what it saw"].pulumi == "eci-aircall-site: clickjack_protection_level"
    assert r["… what it saw"].sf == "CustomSite VoiceConnector: clickjackProtectionLevel SameOriginOnly -> X"
    assert "NamedCredential Aircall: password" in r["… what it cannot see"].sf


def test_a_comparison_that_could_not_run_is_not_judged() -> None:
    failed = rows(Comparison(latency_ms=200, error="the Salesforce CLI is not installed: run `make sf-cli`"))
    (only,) = failed.values()
    assert only.verdict == "not measured" and "make sf-cli" in only.pulumi


def test_zero_latency_and_cpu_goals() -> None:
    fast = rows(zero_ms=[run("up", 1.4, 44), run("up", 1.6, 44), run("up", 1.2, 44)])
    assert fast["`up` at 0 ms per call: wall"].verdict == "met"
    assert fast["`up` at 0 ms per call: wall"].pulumi == "1.4 s (1.2–1.6)"
    slow = rows(zero_ms=[run("up", 2.4, 44)])
    assert slow["`up` at 0 ms per call: wall"].verdict == "**missed**"


def test_the_fleet_goal_compares_the_largest_fleet_with_one_stack() -> None:
    def fleet(n: int, wall: float) -> FleetRun:
        return FleetRun(
            n=n, wall_s=wall, ok=n, failed=0, stack_durations=[wall] * n, errors=[], cpu_s=4.0 * n
        )

    ok = rows(fleet=[fleet(1, 6.0), fleet(4, 7.0), fleet(16, 11.9)], nproc=2)
    row = next(r for k, r in ok.items() if k.startswith("org stacks at once"))
    assert row.verdict == "2.0 ×: met" and "4.0 CPU-s per stack" in row.pulumi
    bad = rows(fleet=[fleet(1, 6.0), fleet(16, 41.6)], nproc=2)
    assert (
        next(r for k, r in bad.items() if k.startswith("org stacks at once")).verdict == "6.9 ×: **missed**"
    )
    alone = rows(fleet=[fleet(1, 6.0)], nproc=2)
    assert next(r for k, r in alone.items() if k.startswith("org stacks at once")).verdict == "not measured"


def test_the_ci_estimate_follows_the_measured_up() -> None:
    r = rows(comparison(6.0, 15.5, 2.0, 4.5), nproc=2)
    ci = next(v for k, v in r.items() if k.startswith("500 orgs"))
    # 500 × 6 s = 50 runner-minutes of `up`; billed by the minute per job; 256 jobs per matrix at most;
    # one 2-core runner at 2 CPU-s per stack: 500 × 2 / 2 / 60 ≈ 8 min.
    assert ci.pulumi.startswith("50 runner-minutes of `up` (500 × 6.0 s)")
    assert "≥ 500 runner-minutes" in ci.pulumi and "≥ 2 matrices" in ci.pulumi and "≈ 8 min" in ci.pulumi


def test_markdown_has_one_row_per_figure_and_escapes_pipes() -> None:
    built = [table.Row("a | b", "1 s"), table.Row("c", "2 s", "3 s", "≤ 1", "met")]
    lines = table.markdown(built).splitlines()
    assert len(lines) == 4 and lines[2] == "| a \\| b | 1 s |  |  |  |"
