"""Step logic of the local engine, each point against what the real engine does (pkg/resource/deploy)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from devtools.engine.cli import _step_line
from devtools.engine.engine import Step

from .conftest import FileProg

A = {"name": "a", "content": "alpha"}
B_AFTER_A = {"name": "b", "content": "beta", "after": "a"}


def test_preview_calls_only_check_and_diff_and_reports_creates_with_unknown_outputs(
    fileprog: FileProg,
) -> None:
    res = fileprog.run("preview", [A, B_AFTER_A])
    assert res.changes == {"create": 3, "update": 0, "replace": 0, "delete": 0, "same": 0}
    assert {s.rsplit("::", 1)[-1]: op for s, op in res.ops().items()} == {
        "fileprog-dev": "create", "a": "create", "b": "create",
    }  # fmt: skip
    assert res.outputs["a_rid"] == "[unknown]" and res.outputs["plain"] == "visible"
    assert fileprog.records() == {}
    assert fileprog.calls("create", "update", "delete") == []
    assert not fileprog.state_file.exists()


def test_preview_names_the_resource_whose_output_will_fill_an_unknown_input(fileprog: FileProg) -> None:
    res = fileprog.run("preview", [A, B_AFTER_A])
    steps = res.steps_by_name()
    assert steps["b"]["wiring"] == {"content": ["a"]}
    assert "wiring" not in steps["a"]
    line = _step_line(Step(steps["b"]["urn"], steps["b"]["type"], "create", wiring={"content": ["a"]}), True)
    assert line.endswith("b create [content <- a]")


def test_up_creates_dependency_first_then_a_second_up_is_a_no_op(fileprog: FileProg) -> None:
    up = fileprog.run("up", [A, B_AFTER_A])
    assert up.changes["create"] == 3
    rid_a = up.outputs["a_rid"]
    assert fileprog.contents() == {"a": "alpha", "b": f"beta after {rid_a}"}
    creates = fileprog.calls("create")
    assert [c["name"] for c in creates] == ["a", "b"] and creates[0]["t1"] <= creates[1]["t0"]
    fileprog.clear_calls()
    again = fileprog.run("up", [A, B_AFTER_A], expect_no_changes=True)
    assert again.changes == {"create": 0, "update": 0, "replace": 0, "delete": 0, "same": 3}
    assert fileprog.calls("create", "update", "delete") == []
    fileprog.run("preview", [A, B_AFTER_A], expect_no_changes=True)


def test_expect_no_changes_fails_when_something_would_change(fileprog: FileProg) -> None:
    fileprog.run("up", [A])
    res = fileprog.run("preview", [{**A, "content": "changed"}], expect_no_changes=True, check=False)
    assert res.returncode != 0
    assert "no changes were expected" in res.stderr
    assert res.data["changes"]["update"] == 1


def test_update_shows_changed_property_names_and_calls_update(fileprog: FileProg) -> None:
    fileprog.run("up", [A])
    res = fileprog.run("up", [{**A, "content": "alpha2"}])
    step = res.steps_by_name()["a"]
    assert step["op"] == "update" and step["inputDiff"] == ["content"]
    assert fileprog.contents() == {"a": "alpha2"}
    assert [c["op"] for c in fileprog.calls("create", "update")] == ["create", "update"]


def test_replace_creates_the_new_one_before_deleting_the_old(fileprog: FileProg) -> None:
    up = fileprog.run("up", [A])
    res = fileprog.run("up", [{**A, "key": "k2"}])
    step = res.steps_by_name()["a"]
    assert step["op"] == "replace" and "key" in step["inputDiff"] and step["replaces"] == ["key"]
    assert res.outputs["a_rid"] != up.outputs["a_rid"]
    ops = [c["op"] for c in fileprog.calls("create", "delete")]
    assert ops == ["create", "create", "delete"]
    assert list(fileprog.records()) == [res.outputs["a_rid"]]


def test_delete_before_replace_deletes_first(fileprog: FileProg) -> None:
    fileprog.run("up", [{**A, "dbr": True}])
    res = fileprog.run("up", [{**A, "dbr": True, "key": "k2"}])
    assert res.steps_by_name()["a"]["op"] == "replace"
    assert [c["op"] for c in fileprog.calls("create", "delete")] == ["create", "delete", "create"]


def test_dependents_of_a_replaced_resource_see_its_new_output(fileprog: FileProg) -> None:
    fileprog.run("up", [A, B_AFTER_A])
    res = fileprog.run("up", [{**A, "key": "k2"}, B_AFTER_A])
    ops = {k.rsplit("::", 1)[-1]: v for k, v in res.ops().items()}
    assert ops == {"a": "replace", "b": "update"}
    assert fileprog.contents()["b"] == f"beta after {res.outputs['a_rid']}"


def test_removed_resources_are_deleted_dependents_first(fileprog: FileProg) -> None:
    fileprog.run("up", [A, B_AFTER_A, {"name": "c", "depends_on": ["b"]}])
    fileprog.clear_calls()
    res = fileprog.run("up", [])
    assert res.changes["delete"] == 3
    assert [c["name"] for c in fileprog.calls("delete")] == ["c", "b", "a"]
    assert fileprog.records() == {}


def test_destroy_deletes_everything_in_reverse_dependency_order_and_empties_state(fileprog: FileProg) -> None:
    fileprog.run("up", [A, B_AFTER_A])
    fileprog.clear_calls()
    res = fileprog.run("destroy", [])
    assert res.changes["delete"] == 3  # a, b and the stack
    assert [c["name"] for c in fileprog.calls("delete")] == ["b", "a"]
    assert fileprog.state()["checkpoint"]["latest"]["resources"] == []


def test_protect_blocks_delete_and_destroy_with_the_cli_message(fileprog: FileProg) -> None:
    fileprog.run("up", [{**A, "protect": True}])
    gone = fileprog.run("up", [], check=False)
    assert gone.returncode != 0
    assert "as it is currently marked for protection" in gone.stderr
    destroy = fileprog.run("destroy", [], check=False)
    assert destroy.returncode != 0 and "pulumi state unprotect" in destroy.stderr
    assert fileprog.contents() == {"a": "alpha"}
    replace = fileprog.run("up", [{**A, "protect": True, "key": "k2"}], check=False)
    assert replace.returncode != 0 and "unable to replace" in replace.stderr
    fileprog.run("up", [A])  # unprotect
    fileprog.run("destroy", [])
    assert fileprog.records() == {}


def test_retain_on_delete_drops_from_state_without_calling_delete(fileprog: FileProg) -> None:
    fileprog.run("up", [{**A, "retain": True}])
    res = fileprog.run("up", [])
    assert res.changes["delete"] == 1
    assert fileprog.calls("delete") == []
    assert fileprog.contents() == {"a": "alpha"}
    assert "a" not in fileprog.state_resources()


def test_ignore_changes_keeps_the_old_input(fileprog: FileProg) -> None:
    fileprog.run("up", [{**A, "ignore_changes": ["content"]}])
    res = fileprog.run("up", [{**A, "content": "new", "ignore_changes": ["content"]}], expect_no_changes=True)
    assert res.changes["same"] == 2
    assert fileprog.contents() == {"a": "alpha"}


def test_component_children_get_the_parent_type_in_their_urn(fileprog: FileProg) -> None:
    res = fileprog.run("up", [{**A, "parent": True}])
    urns = set(res.ops())
    assert "urn:pulumi:dev::fileprog::fileprog:index:Group::group" in urns
    assert "urn:pulumi:dev::fileprog::fileprog:index:Group$pulumi-python:dynamic:Resource::a" in urns
    state = fileprog.state_resources()
    assert state["a"]["parent"] == "urn:pulumi:dev::fileprog::fileprog:index:Group::group"
    assert state["group"]["parent"] == "urn:pulumi:dev::fileprog::pulumi:pulumi:Stack::fileprog-dev"


def test_state_records_dependencies_provider_and_pickled_provider(fileprog: FileProg) -> None:
    fileprog.run("up", [A, B_AFTER_A, {"name": "c", "depends_on": ["a"]}])
    state = fileprog.state_resources()
    a_urn = state["a"]["urn"]
    assert state["c"]["dependencies"] == [a_urn]
    assert state["b"]["propertyDependencies"]["content"] == [a_urn]
    assert state["a"]["provider"] == f"{state['default']['urn']}::{state['default']['id']}"
    assert state["default"]["type"] == "pulumi:providers:pulumi-python"
    # __provider is the dill pickle the SDK made secret (serialize_as_secret_always), so it is ciphertext.
    assert set(state["a"]["inputs"]["__provider"]) == {"4dabf18193072939515e22adb298388d", "ciphertext"}
    order = [r["urn"] for r in fileprog.state()["checkpoint"]["latest"]["resources"]]
    assert order.index(a_urn) < order.index(state["b"]["urn"])


def test_check_failures_exit_non_zero_with_the_providers_reason(fileprog: FileProg) -> None:
    res = fileprog.run("up", [{"name": "a", "content": "invalid stuff"}], check=False)
    assert res.returncode != 0
    # A Check failure is a reason, not an exception: the CLI prints it as the property's problem.
    assert "property content value has a problem: content must not start with 'invalid'" in res.stderr


def test_step_error_shows_the_provider_message_and_keeps_what_was_created(fileprog: FileProg) -> None:
    items = [A, {"name": "b", "content": "beta", "fail": "create", "after": "a"}]
    res = fileprog.run("up", items, check=False)
    assert res.returncode != 0
    # As the SDK's dynamic provider host sends it (pulumi/dynamic/__main__.py _abort_with_traceback:
    # traceback.format_exc()) and the CLI prints it: the traceback, ending with the exception's line.
    assert "Traceback (most recent call last)" in res.stderr
    assert "Exception: create of b refused by the file store" in res.stderr
    assert "a" in fileprog.state_resources() and "b" not in fileprog.state_resources()
    again = fileprog.run("up", [A, {**items[1], "fail": None}])
    assert {k.rsplit("::", 1)[-1]: v for k, v in again.ops().items()} == {"b": "create"}
    assert [c["name"] for c in fileprog.calls("create")] == ["a", "b"]


def test_provider_process_killed_mid_up_is_a_clean_error_with_state_saved(fileprog: FileProg) -> None:
    items = [A, {"name": "b", "crash": "create", "after": "a"}]
    res = fileprog.run("up", items, check=False)
    assert res.returncode != 0
    assert "provider plugin exited unexpectedly" in res.stderr
    assert set(fileprog.state_resources()) >= {"a"}
    fileprog.run("up", [A, {"name": "b", "after": "a"}])
    assert set(fileprog.contents()) == {"a", "b"}


def test_configure_is_called_once_per_provider_process_with_the_secret_config(fileprog: FileProg) -> None:
    fileprog.run("up", [A, {"name": "b"}, {"name": "c"}])
    configures = fileprog.calls("configure")
    assert len(configures) == 1 and configures[0]["token_seen"] is True
    assert {c["pid"] for c in fileprog.calls("create")} == {configures[0]["pid"]}


def test_independent_resources_run_in_parallel_and_parallel_1_serialises(fileprog: FileProg) -> None:
    items = [{"name": n, "delay": 0.6} for n in ("a", "b", "c")]
    fileprog.run("up", items)
    creates = fileprog.calls("create")
    assert max(c["t0"] for c in creates) < min(c["t1"] for c in creates)  # all three overlapped
    fileprog.run("destroy", [])
    fileprog.clear_calls()
    fileprog.run("up", items, parallel=1)
    spans = sorted((c["t0"], c["t1"]) for c in fileprog.calls("create"))
    assert all(prev[1] <= nxt[0] for prev, nxt in zip(spans, spans[1:], strict=False))


def test_secret_config_and_additional_secret_outputs_stay_secret(fileprog: FileProg) -> None:
    items = [{"name": "a", "secret": True, "secret_outputs": ["rid"]}]
    res = fileprog.run("up", items)
    assert res.outputs["token"] == "[secret]" and res.outputs["a_rid"] == "[secret]"
    assert res.outputs["plain"] == "visible"
    assert "s3cr3t-t0ken-value" not in res.stdout + res.stderr
    text = fileprog.state_file.read_text()
    assert "s3cr3t-t0ken-value" not in text
    state = fileprog.state_resources()
    assert "ciphertext" in state["a"]["outputs"]["secret"] and "ciphertext" in state["a"]["outputs"]["rid"]
    assert fileprog.records()[next(iter(fileprog.records()))]["secret"] == "s3cr3t-t0ken-value"
    fileprog.run("up", items, expect_no_changes=True)


def test_secret_given_with_the_secret_flag_is_merged_and_encrypted(fileprog: FileProg) -> None:
    items = [{"name": "a", "secret": True}]
    res = fileprog.run("up", items, secrets={"token": "flag-secret-xyz"})
    assert res.outputs["token"] == "[secret]"
    assert "flag-secret-xyz" not in fileprog.state_file.read_text()
    assert next(iter(fileprog.records().values()))["secret"] == "flag-secret-xyz"


def test_refresh_lists_drifted_properties_and_updates_state(fileprog: FileProg) -> None:
    fileprog.run("up", [A, {"name": "b"}])
    fileprog.run("refresh", [], expect_no_changes=True)
    data = fileprog.data()
    rid_a = next(k for k, r in data["records"].items() if r["name"] == "a")
    rid_b = next(k for k, r in data["records"].items() if r["name"] == "b")
    data["records"][rid_a]["content"] = "changed out of band"
    del data["records"][rid_b]
    fileprog.db.write_text(json.dumps(data))
    res = fileprog.run("refresh", [], expect_no_changes=True, check=False)
    assert res.returncode != 0
    steps = res.steps_by_name()
    # The provider's diff says "changed" and names no keys (a Python dynamic provider sends none); its read
    # returns no inputs, so the CLI has no input diff to list either (display/rows.go getDiffInfo).
    assert steps["a"]["op"] == "update" and steps["a"]["diffs"] == [] and "inputDiff" not in steps["a"]
    assert steps["b"]["op"] == "delete"
    assert fileprog.state_resources()["a"]["outputs"]["content"] == "changed out of band"
    assert "b" not in fileprog.state_resources()
    # This provider's read returns no inputs, so the old ones are kept ("Otherwise, retain the current
    # inputs", RefreshStep.Apply) and its diff keeps seeing the drift on every refresh until an `up`.
    again = fileprog.run("refresh", [], expect_no_changes=True, check=False)
    assert again.returncode != 0 and again.steps_by_name()["a"]["op"] == "update"
    up = fileprog.run("up", [A, {"name": "b"}])  # converges: a's input differs from live, b re-created
    assert {k.rsplit("::", 1)[-1]: v for k, v in up.ops().items()} == {"a": "update", "b": "create"}


def test_human_output_looks_like_the_cli(fileprog: FileProg) -> None:
    import subprocess
    import sys

    from devtools.engine import api

    def cli(*extra: str) -> str:
        args = [sys.executable, "-m", "devtools.engine", "up", "--stack", "dev", "--cwd", str(fileprog.cwd)]
        args += ["--state-dir", str(fileprog.state_dir), "-c", f"fileprog:db={fileprog.db}", *extra]
        env = api.engine_env({"PULUMI_CONFIG_PASSPHRASE": api.TEST_PASSPHRASE})
        proc = subprocess.run(args, cwd=api.REPO_ROOT, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    first = cli("-c", "fileprog:items=" + json.dumps([A]))
    assert " +  pulumi-python:dynamic:Resource a create" in first
    assert "+ 2 created" in first
    second = cli("-c", "fileprog:items=" + json.dumps([{**A, "content": "x"}]))
    assert " ~  pulumi-python:dynamic:Resource a update [diff: ~content]" in second
    assert "~ 1 updated" in second and "1 unchanged" in second
    third = cli("-c", "fileprog:items=" + json.dumps([{**A, "content": "x", "key": "z"}]))
    assert " +- pulumi-python:dynamic:Resource a replace [diff: ~key] (forces replacement: key)" in third
    fourth = cli("-c", "fileprog:items=[]")
    assert " -  pulumi-python:dynamic:Resource a delete" in fourth and "- 1 deleted" in fourth


def test_a_failing_program_reports_its_error_and_deletes_nothing(fileprog: FileProg) -> None:
    fileprog.run("up", [A])
    res = fileprog.run("up", [{"name": "x", "after": "missing"}], check=False)
    assert res.returncode != 0
    assert "KeyError: 'missing'" in res.stderr  # the program's own exception, as the CLI shows it
    assert fileprog.contents() == {"a": "alpha"}  # a is not registered, but a failed program deletes nothing
    assert "a" in fileprog.state_resources()


def test_a_failed_step_is_listed_with_its_error_and_not_counted(fileprog: FileProg) -> None:
    res = fileprog.run("up", [{"name": "a", "fail": "create"}], check=False)
    assert res.returncode != 0
    failed = res.steps_by_name()["a"]
    assert failed["op"] == "create" and "refused by the file store" in failed["error"]
    assert res.changes["create"] == 1  # the stack only
    assert any("refused by the file store" in e for e in res.data["errors"])


def test_reading_an_existing_resource_is_a_read_step_and_never_deletes_it(fileprog: FileProg) -> None:
    up = fileprog.run("up", [A])
    rid = up.outputs["a_rid"]
    res = fileprog.run("up", [A, {"name": "view", "read": rid}])
    step = res.steps_by_name()["view"]
    assert step["op"] == "read"
    assert res.outputs["view_rid"] == rid
    assert fileprog.state_resources()["view"]["external"] is True
    fileprog.run("up", [A])
    assert fileprog.calls("delete") == [] and fileprog.contents() == {"a": "alpha"}


def test_delete_before_replace_first_deletes_dependents_that_must_be_replaced(fileprog: FileProg) -> None:
    items: list[dict[str, Any]] = [
        {**A, "dbr": True},
        {"name": "b", "key_after": "a"},
        {"name": "c", "after": "a"},
    ]
    fileprog.run("up", items)
    fileprog.clear_calls()
    res = fileprog.run("up", [{**items[0], "key": "k2"}, *items[1:]])
    ops = {k.rsplit("::", 1)[-1]: v for k, v in res.ops().items()}
    # b's replace-forcing key follows a's ID, so it goes first (step_generator's dependent replacements);
    # c only updates its content.
    assert ops == {"a": "replace", "b": "replace", "c": "update"}
    calls = [(c["op"], c["name"]) for c in fileprog.calls("create", "update", "delete")]
    assert calls[:3] == [("delete", "b"), ("delete", "a"), ("create", "a")]
    assert set(calls[3:]) == {("create", "b"), ("update", "c")}
    assert set(fileprog.contents()) == {"a", "b", "c"}
    fileprog.run("up", [{**items[0], "key": "k2"}, *items[1:]], expect_no_changes=True)


def test_state_is_journaled_after_every_step_so_a_killed_engine_loses_nothing(fileprog: FileProg) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from devtools.engine import api

    items = [A, {"name": "b", "after": "a", "delay": 30}]
    args = [sys.executable, "-m", "devtools.engine", "up", "--stack", "dev", "--cwd", str(fileprog.cwd)]
    args += ["--state-dir", str(fileprog.state_dir), "-c", f"fileprog:db={fileprog.db}"]
    args += ["-c", "fileprog:items=" + json.dumps(items)]
    env = api.engine_env({"PULUMI_CONFIG_PASSPHRASE": api.TEST_PASSPHRASE})
    proc = subprocess.Popen(
        args, cwd=api.REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            # b's (30 s) Create is under way once it is journaled as a pending operation.
            latest = fileprog.state()["checkpoint"]["latest"] if fileprog.state_file.exists() else {}
            if any(p["resource"]["urn"].endswith("::b") for p in latest.get("pending_operations", [])):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the engine never journaled b's create as pending")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the engine, its program and its provider, mid-deployment
        proc.wait()
    assert set(fileprog.contents()) == {"a"}
    assert "a" in fileprog.state_resources()
    pending = fileprog.state()["checkpoint"]["latest"]["pending_operations"]
    assert [(p["type"], p["resource"]["urn"].rsplit("::", 1)[-1]) for p in pending] == [("creating", "b")]
    again = fileprog.run("up", [A, {"name": "b", "after": "a"}])
    assert {k.rsplit("::", 1)[-1]: v for k, v in again.ops().items()} == {"b": "create"}
    assert "pending operations" in again.stderr and "interrupted while creating" in again.stderr
    # A pending create stays until a person clears it (pkg/backend/snapshot.go snap: "we don't want to clear
    # pending CREATE operations because these must require user intervention"): even a plain refresh keeps it.
    assert _pending(fileprog) == [("creating", "b")]
    fileprog.run("refresh", [])
    assert _pending(fileprog) == [("creating", "b")]
    # pkg/cmd/pulumi/operations/refresh.go: --clear-pending-creates drops them.
    fileprog.run("refresh", [], extra_args=["--clear-pending-creates"])
    assert _pending(fileprog) == []
    quiet = fileprog.run("up", [A, {"name": "b", "after": "a"}])
    assert "pending operations" not in quiet.stderr


def _pending(fileprog: FileProg) -> list[tuple[str, str]]:
    ops = fileprog.state()["checkpoint"]["latest"].get("pending_operations", [])
    return [(p["type"], p["resource"]["urn"].rsplit("::", 1)[-1]) for p in ops]


def test_an_error_logged_by_the_program_fails_the_update(fileprog: FileProg) -> None:
    res = fileprog.run("up", [A], config={"fileprog:logError": "quota check failed"}, check=False)
    assert res.returncode != 0
    assert "quota check failed" in res.stderr


def test_a_provider_that_prints_a_lot_does_not_stall_the_deployment(fileprog: FileProg) -> None:
    res = fileprog.run("up", [{**A, "chatty": True}], timeout=60)
    assert res.changes["create"] == 2


def test_refresh_result_is_the_providers_diff_not_an_output_comparison(fileprog: FileProg) -> None:
    """pkg/resource/deploy/step.go RefreshStep.Apply/ResultOp: after Read the engine calls the provider's Diff
    with the refreshed inputs/outputs as the olds and the pre-refresh inputs as the news; DiffNone is `same`
    even though an output changed (the output is still saved)."""
    fileprog.run("up", [A])
    data = fileprog.data()
    rid = next(iter(data["records"]))
    data["records"][rid]["note"] = "set out of band"  # an output the provider's diff ignores
    fileprog.db.write_text(json.dumps(data))
    fileprog.clear_calls()
    res = fileprog.run("refresh", [], expect_no_changes=True)
    assert res.steps_by_name()["a"]["op"] == "same"
    assert fileprog.state_resources()["a"]["outputs"]["note"] == "set out of band"
    assert [c["op"] for c in fileprog.calls("read")] == ["read"]


def test_refresh_and_destroy_configure_the_provider_from_the_config_saved_at_the_last_up(
    fileprog: FileProg,
) -> None:
    """pkg/resource/deploy/target.go GetPackageConfig: the default provider's inputs are the whole config
    (secrets marked); without --run-program, refresh and destroy load the provider from the snapshot with
    those inputs (pkg/resource/deploy/providers/registry.go), so config set since the last `up` does not reach
    it; --run-program (pkg/cmd/pulumi/operations/refresh.go, destroy.go) brings the current config."""
    fileprog.run("up", [A], secrets={"token": "token-at-up"})
    provider = fileprog.state_resources()["default"]
    assert set(provider["inputs"]["fileprog:token"]) == {"4dabf18193072939515e22adb298388d", "ciphertext"}
    assert "token-at-up" not in fileprog.state_file.read_text()
    fileprog.clear_calls()
    fileprog.run("refresh", [], secrets={"token": "rotated"})
    fileprog.run("refresh", [], secrets={"token": "rotated"}, extra_args=["--run-program"])
    fileprog.run("destroy", [], secrets={"token": "rotated"})
    seen = [c["token_digest"] for c in fileprog.calls("configure")]
    assert seen == [_digest("token-at-up"), _digest("rotated"), _digest("token-at-up")]


def test_the_default_provider_records_config_changes_as_a_hidden_update(fileprog: FileProg) -> None:
    fileprog.run("up", [A], secrets={"token": "one"})
    res = fileprog.run("up", [A], secrets={"token": "two"}, expect_no_changes=True)  # hidden, not a change
    assert res.changes["same"] == 2
    fileprog.clear_calls()
    fileprog.run("destroy", [], secrets={"token": "three"})
    assert [c["token_digest"] for c in fileprog.calls("configure")] == [_digest("two")]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def test_parallel_defaults_to_the_clis_default(fileprog: FileProg) -> None:
    """pkg/cmd/pulumi/operations/up.go defaultParallel (the default of preview/up/refresh/destroy's
    --parallel): PULUMI_PARALLEL when above 0, else 4 × GOMAXPROCS (the CPUs the process may use)."""
    import os

    from devtools.engine.engine import default_parallel

    cpus = len(os.sched_getaffinity(0))
    assert default_parallel({}) == 4 * cpus
    assert default_parallel({"PULUMI_PARALLEL": "0"}) == 4 * cpus
    assert default_parallel({"PULUMI_PARALLEL": "x"}) == 4 * cpus
    assert default_parallel({"PULUMI_PARALLEL": "3"}) == 3
    # Wired into a run without --parallel: PULUMI_PARALLEL=1 serialises independent creates.
    fileprog.run("up", [{"name": n, "delay": 0.3} for n in ("a", "b")], env={"PULUMI_PARALLEL": "1"})
    spans = sorted((c["t0"], c["t1"]) for c in fileprog.calls("create"))
    assert spans[0][1] <= spans[1][0]
