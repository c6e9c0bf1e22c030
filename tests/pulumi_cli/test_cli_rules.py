"""The engine's rules this project relies on, each checked under the real CLI on the `fileprog` program."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from devtools.pulumi_cli import api, build
from tests.support.fileprog import FileProg
from tests.support.processes import descendants

A = {"name": "a", "content": "alpha"}


@pytest.fixture
def fileprog(tmp_path: Path) -> FileProg:
    return FileProg(tmp_path)


def _drift(fileprog: FileProg, name: str, content: str) -> None:
    data = fileprog.data()
    rid = next(k for k, r in data["records"].items() if r["name"] == name)
    data["records"][rid]["content"] = content  # changed out of band, as an admin in Setup would
    fileprog.db.write_text(json.dumps(data))


def test_the_built_cli_is_stamped_and_enforces_required_pulumi_version(tmp_path: Path) -> None:
    """Without `-X …/version.Version` the CLI prints an empty version and skips requiredPulumiVersion."""
    pulumi = api.pulumi_binary()
    assert build.cli_version(Path(pulumi)) >= build.required_version()
    project = tmp_path / "needs-the-future"
    project.mkdir()
    (project / "Pulumi.yaml").write_text('name: future\nruntime: python\nrequiredPulumiVersion: ">=99.0.0"\n')
    proc = subprocess.run(
        [pulumi, "preview", "--stack", "dev", "--non-interactive", "--cwd", str(project)],
        env=api.cli_env(tmp_path / "state"), capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert proc.returncode != 0
    assert ">=99.0.0" in proc.stderr


def test_a_refresh_compares_what_read_returned_with_the_inputs_it_keeps(fileprog: FileProg) -> None:
    """pkg/resource/deploy refresh: the provider's Read gives outputs and, optionally, inputs; the engine
    keeps the inputs it returns (else the old ones) and diffs them with the outputs. fileprog's read returns
    no inputs, so every refresh reports the drift again, until `up` puts it back. Our providers return
    inputs from read (tests/test_refresh_rules.py: the second refresh is clean while the org is still
    drifted)."""
    fileprog.run("up", [A])
    _drift(fileprog, "a", "changed by hand")
    for _ in range(2):
        again = fileprog.run("refresh", [A], expect_no_changes=True, check=False)
        assert again.returncode != 0 and set(again.ops().values()) == {"update"}
    state = fileprog.state_resources()["a"]
    assert state["inputs"]["content"] == "alpha" and state["outputs"]["content"] == "changed by hand"
    fileprog.run("up", [A])
    assert fileprog.contents()["a"] == "alpha"
    assert fileprog.run("refresh", [A], expect_no_changes=True).returncode == 0


def test_preview_json_names_the_providers_changed_keys_diff_reasons(fileprog: FileProg) -> None:
    """The CLI's preview digest calls them `diffReasons` (pkg/display PreviewStep)."""
    fileprog.run("up", [A])
    result = fileprog.run("preview", [{**A, "content": "beta"}])
    (raw,) = [s for s in json.loads(result.stdout)["steps"] if s["urn"].endswith("::a")]
    assert "diffs" not in raw
    assert raw["op"] == "update" and raw["newState"]["inputs"]["content"] == "beta"


def test_a_config_the_project_schema_rejects_stops_the_cli_before_the_program_runs(
    fileprog: FileProg,
) -> None:
    """The CLI refuses (exit 1, pkg/workspace/config.go validateStackConfigValue) with its message on stderr:
    no JSON, no step, no provider call."""
    (fileprog.root / "proj").mkdir()
    project = fileprog.root / "proj"
    for entry in fileprog.cwd.iterdir():
        if entry.name != "Pulumi.yaml":
            (project / entry.name).symlink_to(entry)
    (project / "Pulumi.yaml").write_text(
        (fileprog.cwd / "Pulumi.yaml").read_text() + "config:\n  fileprog:count:\n    type: integer\n"
    )
    env = {"PULUMI_CONFIG_PASSPHRASE": api.TEST_PASSPHRASE}
    result = api.run(
        "preview", stack="dev", cwd=project, state_dir=fileprog.state_dir, check=False, env=env,
        config={"fileprog:db": str(fileprog.db), "fileprog:items": "[]", "fileprog:count": "many"},
    )  # fmt: skip
    assert result.returncode == 1 and not result.stdout.strip()
    assert any("fileprog:count" in e or "'count' must be of type 'integer'" in e for e in result.errors)
    assert not fileprog.calls()


def test_run_program_runs_the_program_for_refresh_and_destroy(fileprog: FileProg) -> None:
    """`--run-program`: the program runs, so its errors stop refresh and destroy; without it neither runs the
    program (pkg/cmd/pulumi/operations/refresh.go, destroy.go)."""
    fileprog.run("up", [A])
    broken = [A, {"name": "b", "after": "missing"}]  # the program fails: KeyError 'missing'
    for verb in ("refresh", "destroy"):
        stopped = fileprog.run(verb, broken, check=False, extra_args=["--run-program"])
        assert stopped.returncode != 0 and "KeyError: 'missing'" in stopped.text
    assert fileprog.contents() == {"a": "alpha"}
    assert fileprog.run("refresh", broken).returncode == 0
    assert fileprog.run("destroy", broken).returncode == 0
    assert fileprog.contents() == {}


def test_the_provider_plugin_runs_the_python_the_cli_was_told(fileprog: FileProg, tmp_path: Path) -> None:
    """Our plugin script runs PULUMI_PYTHON_CMD when no virtualenv is given (the --client route gives none);
    a Python without the SDK fails the run instead of silently using another."""
    fake = tmp_path / "python-without-pulumi"
    fake.write_text("#!/bin/sh\necho 'no pulumi here' >&2\nexit 7\n")
    fake.chmod(0o755)
    result = fileprog.run("up", [A], env={"PULUMI_PYTHON_CMD": str(fake)}, check=False)
    assert result.returncode != 0 and fileprog.contents() == {}
    assert os.environ.get("PULUMI_RUNTIME_VIRTUALENV") is None


def test_import_pending_creates_drops_a_pending_create_without_importing_it(fileprog: FileProg) -> None:
    """Measured under v3.276.0: `refresh --import-pending-creates URN --import-pending-creates ID` (one value
    per flag, read in pairs: pkg/cmd/pulumi/operations/refresh.go pendingCreatesToImports) marks the pending
    create "importing", and the refresh then writes a state without it and without the resource. So a crashed
    create cannot be taken into the stack this way; when a CLI release imports it, this test fails and the
    README's "When `pulumi up` was interrupted" can offer it."""
    fileprog.run("up", [])
    proc = api.start(
        "up", stack="dev", cwd=fileprog.cwd, state_dir=fileprog.state_dir,
        config={"fileprog:db": str(fileprog.db), "fileprog:items": json.dumps([{"name": "a", "delay": "4"}])},
        env={"PULUMI_CONFIG_PASSPHRASE": api.TEST_PASSPHRASE},
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not any(c["op"] == "configure" for c in fileprog.calls()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # one second into the four-second create
    for pid, command in descendants(proc.pid):  # this test's CLI only: other workers run theirs
        if command.startswith(api.pulumi_binary() + " up "):
            os.kill(pid, signal.SIGKILL)
    api.finish(proc, "up")
    time.sleep(4.5)  # the orphaned provider finishes the create
    (rid,) = fileprog.records()
    exported = api.stack_export(stack="dev", cwd=fileprog.cwd, state_dir=fileprog.state_dir)
    (pending,) = exported["deployment"]["pending_operations"]
    work = api.work_copy(fileprog.cwd, fileprog.state_dir)
    env = {"PULUMI_CONFIG_PASSPHRASE": api.TEST_PASSPHRASE}
    api.cli(["cancel", "--yes", "--stack", "dev"], work=work, state_dir=fileprog.state_dir, env=env)
    urn = pending["resource"]["urn"]
    fileprog.run("refresh", [], extra_args=["--import-pending-creates", urn, "--import-pending-creates", rid])
    after = api.stack_export(stack="dev", cwd=fileprog.cwd, state_dir=fileprog.state_dir)["deployment"]
    assert not after.get("pending_operations")
    assert urn not in {r["urn"] for r in after["resources"]}


def test_an_alias_carries_a_renamed_resource_over_without_replacing_it(fileprog: FileProg) -> None:
    """`aliases` (pulumi.Alias) on a renamed dynamic resource: the engine moves it in state to the new name,
    no create and no delete reach the provider, so a rename in this program never recreates an artifact
    (without the alias: a create of the new name and a delete of the old)."""
    fileprog.run("up", [A])
    (rid,) = fileprog.records()
    fileprog.clear_calls()
    renamed = [{**A, "name": "a2", "record_name": "a", "alias_of": "a"}]
    assert fileprog.run("preview", renamed, expect_no_changes=True).returncode == 0
    fileprog.run("up", renamed, expect_no_changes=True)
    assert not fileprog.calls("create", "delete", "update")
    assert set(fileprog.records()) == {rid}
    assert "a2" in fileprog.state_resources() and "a" not in fileprog.state_resources()
    without = fileprog.run("preview", [{**A, "name": "a3", "record_name": "a"}])
    assert sorted(without.ops().values()) == ["create", "delete"]
