"""fleet.py's own logic (planning, scheduling, reporting, the local-engine adapter) without the Pulumi CLI."""

from __future__ import annotations

import argparse
import json
import stat
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tools import fleet
from tools.fleet import FleetPlan, PlanError, StackJob, StackResult


def make_project(tmp_path: Path, stacks: list[str], *, stack_dir: str | None = "stacks") -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    header = "name: eci-aircall\nruntime: python\n"
    if stack_dir:
        header += f"stackConfigDir: {stack_dir}\n"
    (project / "Pulumi.yaml").write_text(header)
    where = project / (stack_dir or ".")
    where.mkdir(exist_ok=True)
    for s in stacks:
        (where / f"Pulumi.{s}.yaml").write_text("config: {}\n")
    return project


# --- planning


def test_stacks_keep_the_given_order_and_drop_duplicates(tmp_path: Path) -> None:
    project = make_project(tmp_path, ["dev", "uat", "prod"])
    p = fleet.plan("up", "prod, dev,prod,uat", work_dir=project)
    assert [j.stack for j in p.jobs] == ["prod", "dev", "uat"]
    assert all(j.verb == "up" for j in p.jobs)


def test_all_means_every_stack_file_in_stack_config_dir_but_not_examples(tmp_path: Path) -> None:
    project = make_project(tmp_path, ["uat", "dev"])
    (project / "stacks" / "Pulumi.sandbox.yaml.example").write_text("config: {}\n")
    p = fleet.plan("preview", "all", work_dir=project)
    assert [j.stack for j in p.jobs] == ["dev", "uat"]


def test_stack_files_are_found_beside_pulumi_yaml_without_stack_config_dir(tmp_path: Path) -> None:
    project = make_project(tmp_path, ["dev"], stack_dir=None)
    assert [j.stack for j in fleet.plan("up", "all", work_dir=project).jobs] == ["dev"]


def test_a_stack_without_config_file_fails_the_plan_naming_it_and_the_known_ones(tmp_path: Path) -> None:
    project = make_project(tmp_path, ["dev", "uat"])
    with pytest.raises(PlanError, match=r"no stack config for prdo .*have: dev, uat"):
        fleet.plan("up", "dev,prdo", work_dir=project)
    # Opt-out for the engine's example programs whose stacks are configured entirely on the command line.
    p = fleet.plan("up", "dev,prdo", work_dir=project, require_stack_files=False)
    assert [j.stack for j in p.jobs] == ["dev", "prdo"]


def test_project_dir_without_pulumi_yaml_is_a_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="Pulumi.yaml"):
        fleet.plan("up", "dev", work_dir=tmp_path)


@pytest.mark.parametrize("spec", ["", " , ", "dev,../etc"])
def test_empty_or_malformed_stack_lists_are_rejected(tmp_path: Path, spec: str) -> None:
    project = make_project(tmp_path, ["dev"])
    with pytest.raises(PlanError):
        fleet.plan("up", spec, work_dir=project)


def test_unknown_verb_and_zero_parallel_are_rejected(tmp_path: Path) -> None:
    project = make_project(tmp_path, ["dev"])
    with pytest.raises(PlanError, match="unknown verb"):
        fleet.plan("import", "dev", work_dir=project)
    with pytest.raises(PlanError, match="--parallel"):
        fleet.plan("up", "dev", work_dir=project, parallel=0)


def test_concurrency_is_capped_by_the_stack_count_and_by_parallel(tmp_path: Path) -> None:
    names = [f"org{i:02d}" for i in range(12)]
    project = make_project(tmp_path, names)
    assert fleet.plan("up", "org00,org01,org02", work_dir=project, parallel=10).concurrency == 3
    assert fleet.plan("up", "all", work_dir=project, parallel=4).concurrency == 4
    assert fleet.plan("up", "all", work_dir=project).concurrency == fleet.DEFAULT_MAX_PARALLEL


def test_per_stack_config_and_secrets_come_from_stack_named_env_vars(tmp_path: Path) -> None:
    project = make_project(tmp_path, ["dev", "uat-eu"])
    env = {
        "URL_DEV": "https://dev.example",
        "URL_UAT_EU": "https://uat.example",
        "TOKEN_DEV": "tok-dev",
        "TOKEN_UAT_EU": "tok-uat",
    }
    p = fleet.plan(
        "up",
        "dev,uat-eu",
        work_dir=project,
        config=["eci-aircall:contactEmail=ops+{STACK}@example.com"],
        config_env=["eci-aircall:instanceUrl=URL_{STACK}"],
        secret_env=["eci-aircall:accessToken=TOKEN_{STACK}"],
        env=env,
    )
    dev, uat = p.jobs
    assert dict(dev.config) == {
        "eci-aircall:contactEmail": "ops+dev@example.com",
        "eci-aircall:instanceUrl": "https://dev.example",
    }
    assert dict(uat.secrets) == {"eci-aircall:accessToken": "tok-uat"}
    assert "tok-dev" not in repr(dev) and "tok-dev" not in repr(p)


def test_a_missing_env_var_fails_the_whole_plan_before_any_stack_runs(tmp_path: Path) -> None:
    project = make_project(tmp_path, ["dev", "prod"])
    with pytest.raises(PlanError, match="TOKEN_PROD"):
        fleet.plan(
            "up",
            "dev,prod",
            work_dir=project,
            secret_env=["eci-aircall:accessToken=TOKEN_{STACK}"],
            env={"TOKEN_DEV": "x"},
        )


def test_config_options_without_equals_are_rejected(tmp_path: Path) -> None:
    project = make_project(tmp_path, ["dev"])
    with pytest.raises(PlanError, match="KEY=VALUE"):
        fleet.plan("up", "dev", work_dir=project, config=["eci-aircall:contactEmail"])


# --- scheduling


def _plan(n: int, concurrency: int) -> FleetPlan:
    jobs = tuple(StackJob(stack=f"s{i}", verb="up") for i in range(n))
    return FleetPlan(verb="up", jobs=jobs, concurrency=concurrency, work_dir=Path("."))


def test_no_more_than_concurrency_stacks_run_at_once_and_all_of_them_run() -> None:
    lock = threading.Lock()
    running = 0
    peak = 0

    def runner(job: StackJob) -> StackResult:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.03)
        with lock:
            running -= 1
        return StackResult(stack=job.stack, ok=True, changes={"create": 1}, duration_s=0.03)

    results = fleet.run_fleet(_plan(9, 3), runner)
    assert peak == 3
    assert [r.stack for r in results] == [f"s{i}" for i in range(9)]


def test_stacks_run_in_parallel_not_one_after_another() -> None:
    def runner(job: StackJob) -> StackResult:
        time.sleep(0.2)
        return StackResult(stack=job.stack, ok=True, changes={}, duration_s=0.2)

    start = time.monotonic()
    fleet.run_fleet(_plan(4, 4), runner)
    assert time.monotonic() - start < 0.6  # serial would take 0.8 s


def test_results_come_back_in_plan_order_whatever_finishes_first() -> None:
    finished: list[str] = []

    def runner(job: StackJob) -> StackResult:
        time.sleep(0.1 if job.stack == "s0" else 0.0)
        return StackResult(stack=job.stack, ok=True, changes={}, duration_s=0)

    results = fleet.run_fleet(_plan(3, 3), runner, on_done=lambda r: finished.append(r.stack))
    assert finished[-1] == "s0"
    assert [r.stack for r in results] == ["s0", "s1", "s2"]


def test_a_crashing_runner_fails_only_its_stack_and_masks_its_secrets() -> None:
    jobs = (
        StackJob(stack="dev", verb="up"),
        StackJob(stack="prod", verb="up", secrets={"eci-aircall:accessToken": "00Dxx!SECRET"}),
    )

    def runner(job: StackJob) -> StackResult:
        if job.stack == "prod":
            raise RuntimeError("login failed with token 00Dxx!SECRET\nmore detail")
        return StackResult(stack=job.stack, ok=True, changes={"same": 3}, duration_s=1.0)

    results = fleet.run_fleet(FleetPlan("up", jobs, 2, Path(".")), runner)
    assert [r.ok for r in results] == [True, False]
    assert results[1].error == "RuntimeError: login failed with token [secret]"
    assert fleet.exit_code(results) == 1


# --- reporting


def test_change_counts_fold_cli_op_types_into_columns_counting_a_replacement_once() -> None:
    from pulumi.automation import OpType

    counts = fleet.summarize_changes(
        {OpType.CREATE: 2, OpType.SAME: 5, OpType.REPLACE: 1, OpType.CREATE_REPLACEMENT: 1, "delete": 3}
    )
    assert counts == {"created": 2, "updated": 0, "replaced": 1, "same": 5, "deleted": 3}
    # The local engine's --json `changes` shape maps the same way.
    assert fleet.summarize_changes({"create": 0, "update": 2, "replace": 0, "delete": 0, "same": 9}) == {
        "created": 0,
        "updated": 2,
        "replaced": 0,
        "same": 9,
        "deleted": 0,
    }


def test_table_has_one_row_per_stack_with_counts_duration_error_and_a_summary_line() -> None:
    results = [
        StackResult(stack="dev", ok=True, changes={"create": 11}, duration_s=12.34),
        StackResult(stack="production", ok=False, changes={}, duration_s=3.0, error="error: boom"),
    ]
    table = fleet.render_table(results, verb="up")
    lines = table.splitlines()
    assert lines[0].split() == [
        "stack",
        "result",
        "created",
        "updated",
        "replaced",
        "same",
        "deleted",
        "duration",
        "error",
    ]
    assert lines[2].split() == ["dev", "ok", "11", "0", "0", "0", "0", "12.3s"]
    assert lines[3].split()[:2] == ["production", "FAILED"]
    assert lines[3].endswith("error: boom")
    assert lines[-1] == "fleet up: 1 ok, 1 failed, 2 stacks"


def test_exit_code_is_zero_only_when_every_stack_succeeded() -> None:
    ok = StackResult(stack="a", ok=True, changes={}, duration_s=0)
    bad = StackResult(stack="b", ok=False, changes={}, duration_s=0, error="x")
    assert fleet.exit_code([ok, ok]) == 0
    assert fleet.exit_code([ok, bad]) == 1
    assert fleet.exit_code([]) == 1  # nothing ran is not a success


def test_first_error_line_prefers_the_cli_error_line() -> None:
    text = "Updating (dev):\n  + create\n\nerror: update failed: INVALID_SESSION_ID\n  details"
    assert fleet.first_error_line(text) == "error: update failed: INVALID_SESSION_ID"
    assert fleet.first_error_line("\n\nTraceback...\nValueError") == "Traceback..."
    trace = (
        "error: Program failed with an unhandled exception:\nTraceback (most recent call last):\n"
        '  File "/p/__main__.py", line 12, in <module>\n    config = load()\n'
        "components.config.ConfigError: eci-aircall:contactEmail is not set\n"
    )
    assert fleet.first_error_line(trace) == (
        "error: Program failed with an unhandled exception: "
        "components.config.ConfigError: eci-aircall:contactEmail is not set"
    )
    # A failed resource: the provider's traceback as the SDK's dynamic provider host sends it
    # (traceback.format_exc()), under the resource's line; its exception line is the message.
    failed = (
        "error: pulumi-python:dynamic/eci-aircall:Preflight (eci-aircall-preflight):\n"
        "    error: Traceback (most recent call last):\n"
        '      File "/v/pulumi/dynamic/__main__.py", line 76, in wrapper\n'
        "        return fn(self, request, context)\n"
        "    salesforce.errors.SalesforceError: Preflight edition: INVALID_SESSION_ID: Session expired\n"
    )
    assert fleet.first_error_line(failed) == (
        "error: pulumi-python:dynamic/eci-aircall:Preflight (eci-aircall-preflight): "
        "salesforce.errors.SalesforceError: Preflight edition: INVALID_SESSION_ID: Session expired"
    )
    text = "error: Program failed with an unhandled exception:\n  ConfigError: contactEmail is not set"
    assert fleet.first_error_line(text) == (
        "error: Program failed with an unhandled exception: ConfigError: contactEmail is not set"
    )


# --- the CLI entry point


def test_automation_engine_without_the_cli_exits_2_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path, ["dev"])
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert fleet.main(["up", "--stacks", "dev", "--work-dir", str(project)]) == 2
    err = capsys.readouterr().err
    assert "Pulumi CLI (`pulumi`) is not on PATH" in err and "download-install" in err


def test_a_cli_older_than_the_project_needs_exits_2_naming_both_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The version as the Automation API reads it (`pulumi version`), against requiredPulumiVersion."""
    project = make_project(tmp_path, ["dev"])
    settings = project / "Pulumi.yaml"
    settings.write_text(settings.read_text() + 'requiredPulumiVersion: ">=3.219.0"\n')
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    old = bin_dir / "pulumi"
    old.write_text("#!/bin/sh\necho v3.200.1\n")
    old.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert fleet.main(["up", "--stacks", "dev", "--work-dir", str(project)]) == 2
    err = capsys.readouterr().err
    assert "is 3.200.1; this project needs 3.219.0 or later" in err


def test_plan_errors_exit_2_before_running_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path, ["dev"])
    assert fleet.main(["up", "--stacks", "nope", "--work-dir", str(project)]) == 2
    assert "no stack config for nope" in capsys.readouterr().err


def test_an_injected_engine_runs_every_planned_job_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(tmp_path, ["dev", "prod"])
    seen: list[StackJob] = []

    def factory(fleet_plan: FleetPlan, args: argparse.Namespace) -> fleet.Runner:
        assert fleet_plan.work_dir == project.resolve()

        def run(job: StackJob) -> StackResult:
            seen.append(job)
            return StackResult(stack=job.stack, ok=job.stack == "dev", changes={"create": 1}, duration_s=0.0)

        return run

    argv = [
        "up",
        "--stacks",
        "all",
        "--work-dir",
        str(project),
        "--engine",
        "fake",
    ]
    assert fleet.main(argv, engines={"fake": factory}) == 1  # prod failed
    assert sorted(j.stack for j in seen) == ["dev", "prod"] and all(j.verb == "up" for j in seen)
    assert "(fake engine)" in capsys.readouterr().err


def test_fleet_itself_offers_only_the_automation_api(tmp_path: Path) -> None:
    project = make_project(tmp_path, ["dev"])
    with pytest.raises(SystemExit):
        fleet.main(["up", "--stacks", "dev", "--work-dir", str(project), "--engine", "local"])


# --- the Automation API adapter, with pulumi.automation's entry points faked (the CLI is absent here)


class FakeStack:
    def __init__(self, name: str, log: list[tuple[str, ...]]) -> None:
        self.name = name
        self.log = log

    def set_config(self, key: str, value: object, path: bool = False) -> None:
        self.log.append(("set_config", self.name, key, repr(getattr(value, "secret", None))))

    def preview(self, **kw: object) -> object:
        from types import SimpleNamespace

        self.log.append(("preview", self.name, str(kw.get("parallel"))))
        return SimpleNamespace(change_summary={"create": 4})

    def refresh(self, **kw: object) -> object:
        from types import SimpleNamespace

        self.log.append(("refresh", self.name, f"run_program={kw.get('run_program')}"))
        return SimpleNamespace(summary=SimpleNamespace(resource_changes={"same": 13}))

    def destroy(self, **kw: object) -> object:
        from types import SimpleNamespace

        self.log.append(("destroy", self.name, f"run_program={kw.get('run_program')}"))
        return SimpleNamespace(summary=SimpleNamespace(resource_changes={"delete": 13}))

    def up(self, **kw: object) -> object:
        from types import SimpleNamespace

        from pulumi.automation import CommandError
        from pulumi.automation._cmd import CommandResult

        self.log.append(("up", self.name))
        if self.name == "prod":
            stderr = "Updating (prod)\nerror: 401 INVALID_SESSION_ID for token tok-prod\nmore"
            raise CommandError(CommandResult(stdout="", stderr=stderr, code=255))
        outputs = {
            "userId": SimpleNamespace(value="005x", secret=False),
            "key": SimpleNamespace(value="k", secret=True),
        }
        summary = SimpleNamespace(resource_changes={"create": 11})
        return SimpleNamespace(summary=summary, outputs=outputs)


def test_automation_runner_maps_verbs_config_secrets_and_cli_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulumi import automation as auto

    log: list[tuple[str, ...]] = []
    selected: list[tuple[str, str, object]] = []
    # The CLI that `config set --secret` runs: records its argv and what it read from stdin.
    cli_log = tmp_path / "cli.log"
    fake_cli = tmp_path / "pulumi"
    fake_cli.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(cli_log)!r}, 'a').write(json.dumps([sys.argv[1:], sys.stdin.read()]) + '\\n')\n"
    )
    fake_cli.chmod(fake_cli.stat().st_mode | stat.S_IXUSR)
    command = SimpleNamespace(command=str(fake_cli))
    monkeypatch.setattr(auto, "PulumiCommand", lambda: command)

    def create_or_select_stack(
        name: str, project_name: str, program: object, opts: auto.LocalWorkspaceOptions
    ) -> FakeStack:
        # An inline program (the CLI's --client route): no language host needed, only `pulumi`.
        assert project_name == "eci-aircall" and callable(program)
        selected.append((name, str(opts.work_dir), dict(opts.env_vars or {})))
        assert opts.pulumi_command is command  # one CLI handle shared by every stack (pulumi/pulumi#10523)
        return FakeStack(name, log)

    monkeypatch.setattr(auto, "create_or_select_stack", create_or_select_stack)
    project = make_project(tmp_path, ["dev"])
    runner = fleet.AutomationRunner(project, backend_url="file:///tmp/st", resource_parallel=3)

    ok = runner(StackJob("dev", "up", config={"k:url": "u"}, secrets={"k:token": "tok-dev"}))
    assert (
        ok.ok and dict(ok.changes) == {"create": 11} and ok.outputs == {"userId": "005x", "key": "[secret]"}
    )
    env = {"PULUMI_BACKEND_URL": "file:///tmp/st", "PULUMI_PYTHON_CMD": sys.executable}
    assert selected[0] == ("dev", str(project.resolve()), env)
    assert ("set_config", "dev", "k:url", "False") in log
    # The secret goes on stdin of `pulumi config set --secret`, not into argv as Automation's set_config
    # would put it (`config set KEY --secret -- VALUE`).
    assert not [e for e in log if e[:3] == ("set_config", "dev", "k:token")]
    argv, stdin = json.loads(cli_log.read_text().splitlines()[0])
    assert argv == ["config", "set", "--secret", "k:token", "--stack", "dev", "--non-interactive"]
    assert stdin == "tok-dev" and "tok-dev" not in str(argv)

    failed = runner(StackJob("prod", "up", secrets={"k:token": "tok-prod"}))
    assert not failed.ok and failed.error == "error: 401 INVALID_SESSION_ID for token [secret]"

    preview = runner(StackJob("uat", "preview"))
    assert preview.ok and dict(preview.changes) == {"create": 4} and ("preview", "uat", "3") in log

    # A rotated token set from --secret-env must reach refresh and destroy: both run the program.
    for verb in ("refresh", "destroy"):
        assert runner(StackJob("dev", verb, secrets={"k:token": "rotated"})).ok
        assert (verb, "dev", "run_program=True") in log
