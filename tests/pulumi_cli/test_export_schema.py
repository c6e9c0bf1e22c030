"""`pulumi stack export` is a deployment the CLI accepts back: it validates against Pulumi's own JSON schemas
and passes the snapshot integrity check (tests/support/deployment_checks.py), after `up`, after a refresh that
finds a resource deleted, and after a delete-before-replace whose create failed."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from devtools.pulumi_cli import api
from tests.support.deployment_checks import assert_importable, integrity_errors, schema_errors
from tests.support.fileprog import FileProg

A = {"name": "a", "content": "alpha"}


@pytest.fixture
def fileprog(tmp_path: Path) -> FileProg:
    return FileProg(tmp_path)


def export(fileprog: FileProg) -> dict:
    env = {"PULUMI_CONFIG_PASSPHRASE": api.TEST_PASSPHRASE}
    return api.stack_export(stack="dev", cwd=fileprog.cwd, state_dir=fileprog.state_dir, env=env)


def test_the_checks_catch_what_the_cli_refuses(fileprog: FileProg) -> None:
    fileprog.run("up", [A, {"name": "b", "after": "a"}])
    good = export(fileprog)
    assert_importable(good)
    bad = copy.deepcopy(good)
    bad["deployment"]["resources"][1]["custom"] = "yes"  # resources.json: a boolean
    bad["deployment"]["resources"][1]["deleteBeforeReplace"] = True  # not a field of a resource state
    assert len(schema_errors(bad)) >= 2
    dangling = copy.deepcopy(good)
    resources = good["deployment"]["resources"]
    dangling["deployment"]["resources"] = [r for r in resources if not r["urn"].endswith("::a")]
    assert any("refers to missing resource" in e for e in integrity_errors(dangling))


def test_after_a_refresh_that_finds_a_resource_deleted_its_dependents_no_longer_refer_to_it(
    fileprog: FileProg,
) -> None:
    """pkg/engine FilterRefreshDeletes (the snapshot manager after a refresh): references to resources the
    refresh deleted are dropped, a vanished parent becomes its own parent."""
    fileprog.run("up", [A, {"name": "b", "after": "a"}, {"name": "c", "depends_on": ["a"]}])
    data = fileprog.data()
    rid_a = next(k for k, r in data["records"].items() if r["name"] == "a")
    del data["records"][rid_a]  # deleted out of band
    fileprog.db.write_text(json.dumps(data))
    fileprog.run("refresh", [], check=False)
    state = fileprog.state_resources()
    assert "a" not in state
    assert state["c"].get("dependencies", []) == []
    assert "content" not in state["b"].get("propertyDependencies", {})
    assert_importable(export(fileprog))


def test_a_failed_delete_before_replace_keeps_the_old_resource_as_pending_replacement(
    fileprog: FileProg,
) -> None:
    """pkg/resource/deploy/step.go DeleteStep.Apply: once the provider delete of a delete-before-replace has
    succeeded the old state stays, marked `pendingReplacement`; the next run only creates
    (step_generator.go: no delete step for a resource already pending replacement)."""
    fileprog.run("up", [{**A, "dbr": True}, {"name": "c", "depends_on": ["a"]}])
    fileprog.clear_calls()
    items: list[dict[str, Any]] = [{**A, "dbr": True, "key": "k2", "fail": "create"}, {"name": "c"}]
    failed = fileprog.run("up", items, check=False)
    assert failed.returncode != 0
    state = fileprog.state_resources()
    assert state["a"]["pendingReplacement"] is True
    assert [c["op"] for c in fileprog.calls("create", "delete")] == ["delete"]
    assert_importable(export(fileprog))
    fileprog.clear_calls()
    fileprog.run("up", [{**A, "dbr": True, "key": "k2"}, {"name": "c"}])
    assert [c["op"] for c in fileprog.calls("create", "delete")] == ["create"]
    assert "pendingReplacement" not in fileprog.state_resources()["a"]
    assert_importable(export(fileprog))
