"""tools/status.py: the per-org report, from the engine's steps (pure) and end to end over three emulated orgs
through the real pulumi CLI (Automation API), with the fleet tool setting the orgs up."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from devtools.pulumi_cli import api
from devtools.sf_emulator.client import EmulatorHandle
from providers import guide
from tests.support import REPO
from tools import fleet, status

SCHEMA = json.loads((REPO / "docs" / "status.schema.json").read_text())
NS = "eci-aircall"
URN = (
    "urn:pulumi:prod::eci-aircall::eci-aircall:index:EciAircallIntegration$pulumi-python:dynamic/eci-aircall:"
)


def _step(op: str, child: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    return {"op": op, "urn": f"{URN}X::eci-aircall-{child}", "type": "t", "old": old, "new": new}


def _healthy_steps(**outputs: dict[str, Any]) -> list[dict[str, Any]]:
    """A refresh step and a `same` step for every child of a complete stack."""
    steps = []
    for child in ["preflight", *status.GUIDE_TASK_OF_CHILD]:
        state = {"inputs": {"x": 1}, "outputs": {"x": 1, **outputs.get(child, {})}}
        steps += [_step("refresh", child, state, state), _step("same", child, state, state)]
    return steps


OK_OUTPUTS = {
    "aircall-named-credential": {"health": "ok"},
    "eci-named-credential": {"health": "ok", "authentication_status": "Authenticated"},
}


def test_a_complete_healthy_stack_has_every_task_done_in_the_guides_order() -> None:
    report = status.assess("prod", _healthy_steps(**OK_OUTPUTS))
    assert [t.task for t in report.tasks] == list(guide.TASKS)
    assert all(t.done for t in report.tasks) and report.manual_step and report.manual_step.done
    assert report.health == {"aircall": "ok", "eciOAuth": "ok"}
    assert report.drift == [] and report.ok
    assert status.exit_code([report]) == 0


def test_drift_is_listed_field_by_field_with_both_values_and_secrets_masked() -> None:
    steps = _healthy_steps(**OK_OUTPUTS)
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "x"}
    org = {
        "endpoint": "https://evil.example",
        "password_hash": "pbkdf2$..",
        "label": "Aircall",
        "pw2": secret,
    }
    program = {
        "endpoint": "https://api.aircall.io",
        "password": secret,
        "label": "Aircall",
        "pw2": "[secret]",
    }
    steps.append(_step("update", "aircall-named-credential", {"inputs": org}, {"inputs": program}))
    report = status.assess("prod", steps)
    assert report.drift == [
        status.Drift("aircall-named-credential", "endpoint", "https://evil.example", "https://api.aircall.io")
    ]
    task = report.tasks[guide.TASKS.index(guide.TASK_AIRCALL_NAMED_CREDENTIAL)]
    assert not task.done and "drifted" in task.detail
    assert not report.ok and status.exit_code([report]) == 1


def test_an_artifact_deleted_in_the_org_is_a_missing_task_and_a_resource_drift() -> None:
    steps = [s for s in _healthy_steps(**OK_OUTPUTS) if not s["urn"].endswith("-site")]
    steps.append(_step("refresh", "site", {"inputs": {}, "outputs": {}}, None))
    steps.append(_step("create", "site", None, {"inputs": {"full_name": "VoiceConnector"}}))
    report = status.assess("prod", steps)
    site = report.tasks[guide.TASKS.index(guide.TASK_SITE)]
    assert not site.done and "missing in the org: site" in site.detail
    assert report.drift == [status.Drift("site", "(resource)", "missing", "created by `pulumi up`")]


def test_a_failing_probe_fails_its_task_and_the_manual_step_says_how_to_do_it() -> None:
    outputs = {
        "aircall-named-credential": {"health": "HTTP 401 from callout:Aircall: Unauthorized"},
        "eci-named-credential": {
            "health": "callout failed: System.CalloutException: no token",
            "authentication_status": "NotAuthenticated",
            "authorize_url": "https://org.example/lightning/setup/NamedCredential/home",
        },
    }
    report = status.assess("prod", _healthy_steps(**outputs))
    key = report.tasks[guide.TASKS.index(guide.TASK_AIRCALL_API_KEY)]
    assert not key.done and "HTTP 401" in key.detail
    assert report.manual_step is not None and not report.manual_step.done
    assert "log in as the integration user, open https://org.example/" in report.manual_step.detail
    assert not report.ok


def test_with_shared_eci_skip_the_shared_tasks_are_the_other_connectors() -> None:
    steps = [
        s
        for s in _healthy_steps(**OK_OUTPUTS)
        if status.child_of(s["urn"], "eci-aircall")
        in ("preflight", "integration-user", "user-eci-access", "user-ci-integration-user")
        or s["urn"].endswith("aircall-named-credential")
    ]
    for s in steps:
        if s["urn"].endswith("-preflight"):
            s["new"] = {"inputs": {"shared_eci": "skip"}, "outputs": {}}
    report = status.assess("prod", steps)
    assert all(t.done for t in report.tasks), report.tasks
    assert report.manual_step is not None and report.manual_step.done


def test_a_stack_that_could_not_be_read_is_one_row_with_its_error_and_valid_json() -> None:
    results = [status.assess("ok", _healthy_steps(**OK_OUTPUTS)), status.StackStatus("bad", error="error: x")]
    table = status.render_table(results)
    assert "bad    NEEDS ATTENTION" in table and "error: x" in table
    assert table.endswith("status: 1 ok, 1 need attention, 2 stacks")
    jsonschema.validate(status.report_json(results, 1.0), SCHEMA)
    assert "| bad | NEEDS ATTENTION |" in status.render_markdown(results)


# --- end to end: three orgs, one healthy, one drifted, one with its ECI credential's token revoked

STACKS = ("healthy", "drifted", "revoked")
ENV_KEYS = {
    "instanceUrl": "instance_url",
    "caBundle": "ca_cert",
    "aircallApiUrl": "aircall_url",
    "aircallApiId": "aircall_api_id",
}
SECRET_KEYS = {"accessToken": "access_token", "aircallApiToken": "aircall_api_token"}


def _var(key: str) -> str:
    return f"ECI_TEST_{key.upper()}_{{STACK}}"


def _options() -> list[str]:
    opts = []
    for key in [*ENV_KEYS, "aircallEndpoint"]:
        opts += ["--config-env", f"{NS}:{key}={_var(key)}"]
    for key in SECRET_KEYS:
        opts += ["--secret-env", f"{NS}:{key}={_var(key)}"]
    return opts


@pytest.fixture
def three_orgs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[dict[str, EmulatorHandle], Path]]:
    state = tmp_path / "state"
    work = api.work_copy(REPO, state)
    for stack in STACKS:
        shutil.copy(work / "stacks" / "Pulumi.demo.yaml", work / "stacks" / f"Pulumi.{stack}.yaml")
    for key, value in api.cli_env(state).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PATH", f"{Path(api.pulumi_binary()).parent}:{__import__('os').environ['PATH']}")
    orgs = {stack: EmulatorHandle(tmp_path / f"org-{stack}") for stack in STACKS}
    try:
        for stack, org in orgs.items():
            for key, attr in {**ENV_KEYS, **SECRET_KEYS}.items():
                monkeypatch.setenv(fleet.env_var_for(_var(key), stack), str(getattr(org, attr)))
            monkeypatch.setenv(
                fleet.env_var_for(_var("aircallEndpoint"), stack), f"{org.instance_url}/aircall/"
            )
        yield orgs, work
    finally:
        for org in orgs.values():
            org.stop()


def _resources(work: Path, stack: str, state: Path) -> list[dict[str, Any]]:
    proc = api.cli(["stack", "export", "--stack", stack], work=work, state_dir=state)
    return [
        {k: r.get(k) for k in ("urn", "inputs", "outputs")}
        for r in json.loads(proc.stdout)["deployment"]["resources"]
    ]


def test_make_status_over_three_orgs_reports_each_level_and_exits_non_zero(
    three_orgs: tuple[dict[str, EmulatorHandle], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orgs, work = three_orgs
    common = ["--stacks", ",".join(STACKS), "--work-dir", str(work), *_options()]
    assert fleet.main(["up", *common]) == 0
    for org in orgs.values():
        org.authorize_named_credential(guide.ECI_NAMED_CREDENTIAL, "eci-aircall@demo.example")
    nc = orgs["drifted"].mdapi().NamedCredential.read([guide.AIRCALL_NAMED_CREDENTIAL])
    nc.endpoint = "https://drifted.example.com/"
    orgs["drifted"].mdapi().NamedCredential.update(nc)
    orgs["revoked"].revoke_named_credential(guide.ECI_NAMED_CREDENTIAL)
    state = tmp_path / "state"
    before = {s: _resources(work, s, state) for s in STACKS}
    for org in orgs.values():
        org.reset_calls()
    capsys.readouterr()

    for run in range(2):  # a level, not an edge: the same report however often it runs
        out_json = tmp_path / f"status{run}.json"
        markdown = tmp_path / f"status{run}.md"
        code = status.main([*common, "--json", str(out_json), "--markdown", str(markdown)])
        printed = capsys.readouterr().out
        assert code == 1, printed
        report = json.loads(out_json.read_text())
        jsonschema.validate(report, SCHEMA)
        by_stack = {s["stack"]: s for s in report["stacks"]}
        assert by_stack["healthy"]["ok"], by_stack["healthy"]
        assert by_stack["drifted"]["drift"] == [
            {
                "resource": "aircall-named-credential",
                "field": "endpoint",
                "org": "https://drifted.example.com/",
                "program": f"{orgs['drifted'].instance_url}/aircall/",
            }
        ]
        revoked = by_stack["revoked"]
        assert revoked["drift"] == [] and revoked["health"]["aircall"] == "ok"
        assert revoked["health"]["eciOAuth"].startswith("callout failed"), revoked["health"]
        assert revoked["manual_step"]["done"] is False
        rows = {
            cells[0]: cells
            for cells in map(str.split, printed.splitlines())
            if cells[:1] in ([s] for s in STACKS)
        }
        assert rows["healthy"] == ["healthy", "ok", "8/8", "done", "ok", "0"]
        # The drifted endpoint also breaks the Aircall callout: the key's task and its probe fail too.
        assert rows["drifted"] == ["drifted", "NEEDS", "ATTENTION", "6/8", "done", "FAILING", "1"]
        assert rows["revoked"] == ["revoked", "NEEDS", "ATTENTION", "8/8", "NOT", "DONE", "FAILING", "0"]
        assert "drift aircall-named-credential.endpoint: https://drifted.example.com/ ->" in printed
        assert "| revoked | NEEDS ATTENTION |" in markdown.read_text()

    # Nothing written: not to the orgs (the emulator counts every write), not to the state.
    for stack, org in orgs.items():
        assert org.calls()["writes"] == 0, (stack, org.calls()["writes_by_operation"])
        assert _resources(work, stack, state) == before[stack]

    # Fixed: `up` puts the drifted org back (its update measures the probe again) and the revoked credential
    # is authorized again. The check passes at once, and the drifted stack's outputs say `ok` with no refresh.
    # (`up` alone would not: it starts from the state, which does not know the drift: refresh first.)
    assert fleet.main(["refresh", *common]) == 0 and fleet.main(["up", *common]) == 0
    orgs["revoked"].authorize_named_credential(guide.ECI_NAMED_CREDENTIAL, "eci-aircall@demo.example")
    assert status.main(common) == 0, capsys.readouterr().out
    shown = api.cli(["stack", "output", "health", "--json", "--stack", "drifted"], work=work, state_dir=state)
    assert json.loads(shown.stdout)["aircall"] == "ok"
