"""The benchmark's arithmetic: critical path, call attribution, state sizes (pure functions)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from devtools.bench import analysis
from devtools.bench.harness import Run

STACK = "urn:pulumi:dev::eci-aircall::pulumi:pulumi:Stack::eci-aircall-dev"
COMP = "urn:pulumi:dev::eci-aircall::eci-aircall:index:EciAircallIntegration::eci"


def urn(name: str) -> str:
    parent_type = "eci-aircall:index:EciAircallIntegration"
    return f"urn:pulumi:dev::eci-aircall::{parent_type}$pulumi-python:dynamic:Resource::{name}"


def test_critical_path_is_the_heaviest_dependency_chain_not_the_longest_in_resources() -> None:
    # a(2) → b(1) → c(1) = 4 calls over three resources; x(5) alone = 5 calls: x is the critical path.
    deps = {urn("a"): [], urn("b"): [urn("a")], urn("c"): [urn("b")], urn("x"): []}
    weight = {urn("a"): 2, urn("b"): 1, urn("c"): 1, urn("x"): 5}
    cp = analysis.critical_path(deps, weight)
    assert cp.calls == 5 and cp.chain == (urn("x"),)
    weight[urn("c")] = 3
    cp = analysis.critical_path(deps, weight, head_calls=1)
    assert cp.calls == 1 + 2 + 1 + 3 and cp.chain == (urn("a"), urn("b"), urn("c")) and cp.head_calls == 1


def test_resources_without_calls_still_link_their_dependents() -> None:
    # a component (no calls) between a and b: b still waits for a through it.
    deps = {urn("a"): [], COMP: [urn("a")], urn("b"): [COMP]}
    cp = analysis.critical_path(deps, {urn("a"): 2, urn("b"): 3})
    assert cp.calls == 5 and cp.chain == (urn("a"), urn("b"))


def test_calls_outside_any_resource_count_as_head_of_the_chain() -> None:
    cp = analysis.critical_path({urn("a"): []}, {urn("a"): 2, "": 1})
    assert cp.calls == 3 and cp.head_calls == 1


def test_a_dependency_cycle_is_reported_not_looped_on() -> None:
    with pytest.raises(ValueError, match="cycle"):
        analysis.critical_path({urn("a"): [urn("b")], urn("b"): [urn("a")]}, {urn("a"): 1})


def test_observed_serial_depth_counts_calls_that_waited_for_each_other() -> None:
    calls = [
        {"t0": 0.0, "t1": 1.0},
        {"t0": 0.1, "t1": 1.1},  # overlaps the first: parallel
        {"t0": 1.2, "t1": 2.0},  # after both
        {"t0": 2.1, "t1": 3.0},
    ]
    assert analysis.observed_serial_depth(calls) == 3
    assert analysis.observed_serial_depth([]) == 0


def test_serial_depth_by_resource_tells_sequential_from_concurrent_calls_within_a_resource() -> None:
    q = "/services/data/v63.0/query/"
    calls = [
        {"urn": urn("seq"), "http": "GET", "path": q, "t0": 0.0, "t1": 1.0},
        {"urn": urn("seq"), "http": "GET", "path": q, "t0": 1.1, "t1": 2.0},
        {"urn": urn("par"), "http": "GET", "path": q, "t0": 0.0, "t1": 1.0},
        {"urn": urn("par"), "http": "GET", "path": q, "t0": 0.2, "t1": 1.0},
    ]
    assert analysis.serial_depth_by_resource(calls) == {urn("seq"): 2, urn("par"): 1}


def test_calls_that_touch_end_to_start_are_sequential_and_calls_that_overlap_by_a_hair_are_not() -> None:
    assert analysis.observed_serial_depth([{"t0": 0.0, "t1": 1.0}, {"t0": 1.0, "t1": 2.0}]) == 2
    assert analysis.observed_serial_depth([{"t0": 0.0, "t1": 1.0}, {"t0": 0.999, "t1": 2.0}]) == 1


def test_serial_depth_is_the_longest_non_overlapping_chain_not_the_number_of_waves() -> None:
    # A long call (0-3) overlaps three short sequential ones (0-1, 1-2, 2-3): depth 3 (the short chain),
    # then one call after everything: 4.
    calls = [
        {"t0": 0.0, "t1": 3.0},
        {"t0": 0.0, "t1": 1.0},
        {"t0": 1.0, "t1": 2.0},
        {"t0": 2.0, "t1": 3.0},
        {"t0": 3.5, "t1": 4.0},
    ]
    assert analysis.observed_serial_depth(calls) == 4


def _calls(name: str, spans: list[tuple[float, float]]) -> list[dict[str, object]]:
    q = "/services/data/v63.0/query/"
    return [{"urn": urn(name), "http": "GET", "path": q, "t0": t0, "t1": t1} for t0, t1 in spans]


def test_bound_weights_a_resource_with_concurrent_calls_by_its_serial_depth_not_its_call_count() -> None:
    # pre: 6 reads in flight together, then one read after them (depth 2, 7 calls); user waits for pre and
    # makes 2 calls one after another; other (independent) makes 4 calls one after another.
    calls = [
        *_calls("pre", [(0.0, 0.2), (0.0, 0.21), (0.01, 0.2), (0.02, 0.22), (0.0, 0.19), (0.03, 0.2)]),
        *_calls("pre", [(0.25, 0.45)]),
        *_calls("user", [(0.5, 0.7), (0.7, 0.9)]),
        *_calls("other", [(0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8)]),
    ]
    deps = {urn("pre"): [], urn("user"): [urn("pre")], urn("other"): []}
    bounds = analysis.critical_path_bounds(deps, calls)
    # By serial depth: pre 2 + user 2 = 4 ties other 4; either way 4 round trips, not 9.
    assert bounds.by_depth.calls == 4 and bounds.by_depth.head_calls == 0
    # By call count the same run looks like 7 + 2 = 9 sequential calls through pre → user.
    assert bounds.by_calls.calls == 9 and bounds.by_calls.chain == (urn("pre"), urn("user"))
    # One more sequential call on `other` makes it the critical path by depth, while by count pre → user
    # still dominates: the weighting changes which chain is critical, not only its length.
    calls += _calls("other", [(0.8, 1.0)])
    bounds = analysis.critical_path_bounds(deps, calls)
    assert (bounds.by_depth.calls, bounds.by_depth.chain) == (5, (urn("other"),))
    assert (bounds.by_calls.calls, bounds.by_calls.chain) == (9, (urn("pre"), urn("user")))


def test_both_bounds_add_one_login_and_agree_when_every_call_is_sequential() -> None:
    login = {"urn": urn("pre"), "http": "POST", "path": "/services/oauth2/token", "t0": 0.0, "t1": 0.1}
    calls = [login, *_calls("pre", [(0.1, 0.3), (0.3, 0.5)]), *_calls("user", [(0.5, 0.7)])]
    deps = {urn("pre"): [], urn("user"): [urn("pre")]}
    bounds = analysis.critical_path_bounds(deps, calls)
    assert bounds.by_depth == bounds.by_calls
    assert bounds.by_depth.calls == 1 + 2 + 1 and bounds.by_depth.head_calls == 1


@pytest.mark.parametrize(
    ("http", "path", "soap", "expected"),
    [
        ("POST", "/services/oauth2/token", "", "auth.oauth_token"),
        ("POST", "/services/Soap/u/63.0", "login", "auth.soap_login"),
        ("POST", "/services/Soap/m/63.0", "readMetadata", "metadata.readMetadata"),
        ("GET", "/services/data/v63.0/query/", "", "rest.query"),
        ("GET", "/services/data/v63.0/query/01gxx-2000", "", "rest.queryMore"),
        ("POST", "/services/data/v63.0/sobjects/PermissionSetAssignment/", "", "rest.sobject.create"),
        ("PATCH", "/services/data/v63.0/sobjects/User/005xx", "", "rest.sobject.update"),
        ("PATCH", "/services/data/v63.0/sobjects/User/Ext__c/abc", "", "rest.sobject.upsert"),
        ("DELETE", "/services/data/v63.0/sobjects/PermissionSetAssignment/0Pa", "", "rest.sobject.delete"),
        ("GET", "/services/data/v63.0/sobjects/User/describe", "", "rest.describe"),
        ("GET", "/services/data/v63.0/limits", "", "rest.limits"),
        ("GET", "/services/data/", "", "rest.versions"),
        ("GET", "/services/data/v63.0/apps/oauth/credentials/0H4/888", "", "connect.oauth_credentials"),
        ("GET", "/aircall/v1/ping", "", "aircall.ping"),
        ("GET", "/services/data/v63.0/apps/oauth/usage/0H4/users", "", "connect.oauth_usage"),
        ("GET", "/services/data/v63.0/queryAll/", "", "rest.query"),
        # The health probes: their query string names callout:Aircall/..., still a Tooling call.
        ("GET", "/services/data/v63.0/tooling/executeAnonymous/", "", "tooling.executeAnonymous"),
    ],
)
def test_recorded_calls_map_to_the_emulators_operation_names(
    http: str, path: str, soap: str, expected: str
) -> None:
    assert analysis.operation({"http": http, "path": path, "soap": soap}) == expected


def test_calls_by_resource_leaves_out_logins() -> None:
    calls = [
        {"urn": urn("a"), "http": "POST", "path": "/services/oauth2/token"},
        {"urn": urn("a"), "http": "GET", "path": "/services/data/v63.0/query/"},
        {"urn": urn("a"), "http": "POST", "path": "/services/data/v63.0/sobjects/User/"},
        {"urn": "", "http": "GET", "path": "/services/data/v63.0/limits"},
    ]
    assert analysis.calls_by_resource(calls) == {urn("a"): 2, "": 1}
    assert analysis.count_operations(calls)["auth.oauth_token"] == 1


def test_pickle_sizes_count_only_managed_custom_resources_from_a_checkpoint(tmp_path: Path) -> None:
    pickle = base64.b64encode(b"x" * 3000).decode()
    checkpoint = {
        "version": 3,
        "checkpoint": {
            "stack": "dev",
            "latest": {
                "resources": [
                    {"urn": STACK, "type": "pulumi:pulumi:Stack", "custom": False},
                    {"urn": "urn:...::default", "type": "pulumi:providers:pulumi-python", "custom": True},
                    {"urn": COMP, "type": "eci-aircall:index:EciAircallIntegration", "custom": False},
                    {
                        "urn": urn("a"),
                        "type": "pulumi-python:dynamic:Resource",
                        "custom": True,
                        "inputs": {"__provider": pickle},
                        "outputs": {"__provider": pickle, "x": 1},
                        "dependencies": [COMP],
                    },
                ]
            },
        },
    }
    state_dir = tmp_path / "st"
    path = state_dir / ".pulumi" / "stacks" / "eci-aircall" / "dev.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(checkpoint))
    found = analysis.find_state_file(state_dir, "dev")
    resources = analysis.deployment_resources(json.loads(found.read_text()))
    assert analysis.provider_pickle_sizes(resources) == {urn("a"): 4000}
    assert analysis.dependency_graph(resources)[urn("a")] == [COMP]
    with pytest.raises(FileNotFoundError):
        analysis.find_state_file(state_dir, "prod")


def test_short_name_is_the_last_urn_segment() -> None:
    assert analysis.short_name(urn("integration-user")) == "integration-user"
    assert analysis.short_name("") == "(no resource)"


def test_largest_gap_within_a_resource_finds_client_side_work_between_its_calls() -> None:
    q, md = "/services/data/v63.0/query/", "/services/Soap/m/63.0"
    calls = [
        {"urn": urn("pre"), "http": "GET", "path": q, "t0": 0.0, "t1": 0.2},
        {"urn": urn("pre"), "http": "POST", "path": md, "soap": "readMetadata", "t0": 0.7, "t1": 0.9},
        {"urn": urn("other"), "http": "GET", "path": q, "t0": 0.0, "t1": 0.2},
        {"urn": urn("other"), "http": "GET", "path": q, "t0": 0.3, "t1": 0.5},
    ]
    gap = analysis.largest_gap_within_a_resource(calls)
    assert gap is not None and gap.urn == urn("pre") and round(gap.seconds, 2) == 0.5
    assert (gap.after, gap.before) == ("rest.query", "metadata.readMetadata")
    assert analysis.largest_gap_within_a_resource([]) is None


def test_startup_milestones_are_offsets_from_the_run_start() -> None:
    grpc_events = [
        {"service": "pulumirpc.ResourceMonitor", "grpc": "RegisterResource", "t0": 101.0, "t1": 101.1},
        {"service": "pulumirpc.ResourceProvider", "grpc": "Configure", "t0": 101.5, "t1": 101.6},
        {"service": "pulumirpc.ResourceProvider", "grpc": "Create", "t0": 102.0, "t1": 103.0},
    ]
    calls = [{"t0": 102.5, "t1": 102.7}]
    assert analysis.startup_milestones(grpc_events, calls, 100.0) == {
        "first_registration": 1.0,
        "provider_first_request": 1.5,
        "first_create": 2.0,
        "first_api_call": 2.5,
    }
    assert analysis.startup_milestones([], [], 100.0) == {}


def test_create_timings_give_the_wait_for_a_provider_worker_and_how_long_the_create_ran() -> None:
    svc = "pulumirpc.ResourceProvider"
    grpc_events = [
        {"service": svc, "grpc": "Check", "urn": urn("site"), "t0": 1.0, "t1": 1.01},
        {"service": svc, "grpc": "Create", "urn": urn("site"), "t0": 1.43, "t1": 2.0},  # waited 0.42 s
        {"service": svc, "grpc": "Check", "urn": urn("pre"), "t0": 0.0, "t1": 0.1},
        {"service": svc, "grpc": "Create", "urn": urn("pre"), "t0": 0.1, "t1": 0.51},
        {"service": "pulumirpc.ResourceMonitor", "grpc": "RegisterResource", "urn": "", "t0": 0, "t1": 2},
        {"service": svc, "grpc": "Check", "urn": urn("noop"), "t0": 0.0, "t1": 0.1},  # no Create: not listed
    ]
    timings = analysis.create_timings(grpc_events)
    assert set(timings) == {urn("site"), urn("pre")}
    assert (
        round(timings[urn("site")].queued_s, 2) == 0.42 and round(timings[urn("site")].elapsed_s, 2) == 0.57
    )
    assert timings[urn("pre")].queued_s == 0.0 and round(timings[urn("pre")].elapsed_s, 2) == 0.41


def test_health_probes_count_as_salesforce_calls_not_other_calls() -> None:
    by_op = {"tooling.executeAnonymous": 2, "rest.query": 11, "aircall.ping": 1, "controls.calls": 1}
    run = Run("refresh", 1.0, 0, {}, {"total": 13, "by_operation": by_op}, [])
    assert run.salesforce_by_operation == {"rest.query": 11, "tooling.executeAnonymous": 2}
    assert run.other_by_operation == {"aircall.ping": 1}


PROGRAM_PID, PLUGIN_PID = 10, 20
PROVIDER = "pulumirpc.ResourceProvider"


def startup_records() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """One `up` as the hook records it: started at t=100, the CLI at 100.5, the program asked at 101.0, its
    first registration at 101.4, the plugin started at 101.5, its server up at 101.8, first unpickling
    101.85-102.1, first Create at 102.2, the first call 102.3-102.5, the program done at 104, its exit at
    104.4."""
    process = [
        {"kind": "process", "pid": PROGRAM_PID, "role": analysis.PROGRAM_ROLE, "exec_at": 99.99,
         "parent_exec_at": 90.0, "site_at": 100.05},
        {"kind": "process", "pid": PLUGIN_PID, "role": analysis.PROVIDER_ROLE, "exec_at": 101.5,
         "parent_exec_at": 100.5, "site_at": 101.55},
        {"kind": "grpc_server", "pid": PROGRAM_PID, "t": 100.4, "cpu": 0.2},
        {"kind": "grpc_server", "pid": PLUGIN_PID, "t": 101.8, "cpu": 0.2},
        {"kind": "unpickle", "pid": PLUGIN_PID, "t0": 101.85, "t1": 102.1},
        {"kind": "unpickle", "pid": PLUGIN_PID, "t0": 102.6, "t1": 102.61},
        {"kind": "exit", "pid": PLUGIN_PID, "t": 104.1, "cpu": 0.9},
        {"kind": "exit", "pid": PROGRAM_PID, "t": 104.4, "cpu": 0.5},
    ]  # fmt: skip
    grpc_events = [
        {"pid": PROGRAM_PID, "service": "pulumirpc.LanguageRuntime", "grpc": "Run", "t0": 101.0, "t1": 104.0,
         "cpu": 0.48},
        {"pid": PROGRAM_PID, "side": "client", "grpc": "RegisterResource", "t0": 101.4, "t1": 101.41},
        {"pid": PLUGIN_PID, "service": PROVIDER, "grpc": "Check", "urn": "a", "t0": 101.85, "t1": 102.15,
         "cpu": 0.5},
        {"pid": PLUGIN_PID, "service": PROVIDER, "grpc": "Create", "urn": "a", "t0": 102.2, "t1": 102.9,
         "cpu": 0.8},
    ]  # fmt: skip
    calls = [
        {"t0": 102.3, "t1": 102.5, "grpc": "Create", "urn": "a"},
        {"t0": 102.6, "t1": 102.8, "grpc": "Create", "urn": "a"},
    ]
    return process, grpc_events, calls


def test_startup_split_gives_each_segment_to_who_spends_it() -> None:
    process, grpc_events, calls = startup_records()
    split = analysis.startup_split(process, grpc_events, calls, 100.0)
    assert split.milestones == {
        "cli_exec": 0.5,
        "program_run": 1.0,
        "first_registration": 1.4,
        "plugin_exec": 1.5,
        "plugin_server": 1.8,
        "first_unpickle": 1.85,
        "first_unpickle_end": 2.1,
        "first_call_request": 2.2,
        "first_api_call": 2.3,
        "first_api_reply": 2.5,
    }
    # the CLI: start → program asked (0.5) + registration → plugin started (0.1) + on to the Create that
    # makes the first call (0.1)
    # the program: language host start (0.5) + imports to the first registration (0.4)
    # the provider: Python + pulumi.dynamic (0.3) + handshake (0.05) + first unpickling (0.25)
    # the first call: 0.1 before it is sent + its 0.2 s round trip
    assert split.groups == {"cli": 0.7, "program": 0.9, "provider": 0.6, "first_call": 0.3}
    assert round(sum(split.segments.values()), 3) == 2.5  # start → the first reply, nothing counted twice
    assert split.wrap_up_s == 0.4


def test_startup_split_follows_the_first_call_into_the_check_that_made_it() -> None:
    # Preflight runs its checks in Check: the first call is made there, inside the request whose first
    # unpickling imported the providers; the client-side work is counted from the unpickling's end.
    process, grpc_events, calls = startup_records()
    calls = [{"t0": 102.12, "t1": 102.14, "grpc": "Check", "urn": "a"}]
    split = analysis.startup_split(process, grpc_events, calls, 100.0)
    assert split.milestones["first_call_request"] == 2.1 and split.milestones["first_api_call"] == 2.12
    assert split.segments["CLI/provider: on to the request that makes the first call"] == 0.0
    assert split.groups["first_call"] == 0.04
    assert round(sum(split.segments.values()), 3) == 2.14


def test_startup_split_spends_nothing_on_a_milestone_reached_early_and_skips_missing_ones() -> None:
    process, grpc_events, calls = startup_records()
    # The CLI may start the plugin before the program registers anything.
    process[1] = {**process[1], "exec_at": 100.9}
    split = analysis.startup_split(process, grpc_events, calls, 100.0)
    assert split.segments["CLI: registration → provider plugin started"] == 0.0
    # No plugin record (a run without the hook in the plugin): no segment that needs it is made up.
    bare = analysis.startup_split(process[2:3], grpc_events, calls, 100.0)
    assert "cli" not in bare.groups and "provider" not in bare.groups
    assert bare.groups["first_call"] == 0.3


def test_cpu_split_takes_each_python_process_at_exit_and_leaves_the_rest_to_the_cli() -> None:
    process, grpc_events, _ = startup_records()
    split = analysis.cpu_split(process, grpc_events, 2.0)
    assert (split.program_s, split.provider_s, split.cli_s) == (0.5, 0.9, 0.6)
    # A plugin killed before its exit handler ran: its CPU at its last recorded request.
    killed = analysis.cpu_split([e for e in process if e != process[6]], grpc_events, 2.0)
    assert killed.provider_s == 0.8 and killed.cli_s == 0.7
    assert analysis.cpu_split([], [], 2.0).cli_s is None
