"""The provider acceptance lifecycle, reusable by any program (the example, our providers, the component).

    preview (creates, changes nothing) → up → preview --expect-no-changes → up no-op → stack export/import
    round-trip → refresh --expect-no-changes → change config → exactly the expected update/replace →
    remove a resource → exactly those deleted → destroy → org as before → no plaintext secret in state

Each step is asserted. It runs through the local engine (`devtools.engine`) or, with `PulumiCliRunner`, the
real `pulumi` CLI against a file backend, so the same expectations hold for what users run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import api

Snapshot = Callable[[], Any]


class Runner(Protocol):
    name: str

    def run(
        self,
        verb: str,
        *,
        config: dict[str, str],
        secrets: dict[str, str],
        expect_no_changes: bool = False,
        check: bool = True,
    ) -> api.EngineResult: ...

    def export(self) -> dict[str, Any]: ...

    def import_(self, deployment: dict[str, Any]) -> None: ...

    def state_text(self) -> str: ...


@dataclass
class EngineRunner:
    """The local engine (`python -m devtools.engine`)."""

    project_dir: Path
    stack: str
    state_dir: Path
    env: dict[str, str] | None = None
    parallel: int | None = None
    name: str = "local-engine"

    def run(
        self,
        verb: str,
        *,
        config: dict[str, str],
        secrets: dict[str, str],
        expect_no_changes: bool = False,
        check: bool = True,
    ) -> api.EngineResult:
        return api.run(
            verb, stack=self.stack, cwd=self.project_dir, state_dir=self.state_dir, config=config,
            secrets=secrets, expect_no_changes=expect_no_changes, parallel=self.parallel, env=self.env,
            check=check,
        )  # fmt: skip

    def export(self) -> dict[str, Any]:
        return api.stack_export(
            stack=self.stack, cwd=self.project_dir, state_dir=self.state_dir, env=self.env
        )

    def import_(self, deployment: dict[str, Any]) -> None:
        api.stack_import(
            deployment, stack=self.stack, cwd=self.project_dir, state_dir=self.state_dir, env=self.env
        )

    def state_text(self) -> str:
        path = Path(self.state_dir) / ".pulumi" / "stacks"
        return "".join(p.read_text() for p in sorted(path.rglob("*.json")))


@dataclass
class PulumiCliRunner:
    """The real `pulumi` CLI on a file backend, on a private copy of the project (config set writes to it)."""

    project_dir: Path
    stack: str
    state_dir: Path
    work_dir: Path
    env: dict[str, str] | None = None
    name: str = "pulumi-cli"
    _ready: bool = False

    def _env(self) -> dict[str, str]:
        env = api.engine_env(self.env)
        env["PULUMI_BACKEND_URL"] = Path(self.state_dir).resolve().as_uri()
        env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
        env["PULUMI_DIY_BACKEND_NO_LEGACY_WARNING"] = "true"
        # The program and its providers need this venv's packages (pulumi, simple-salesforce).
        env["PULUMI_PYTHON_CMD"] = os.environ.get("PULUMI_PYTHON_CMD", sys.executable)
        return env

    def _pulumi(
        self, *args: str, check: bool = True, input_: str | None = None
    ) -> subprocess.CompletedProcess:
        cmd = ["pulumi", *args, "--non-interactive", "--cwd", str(self.work_dir)]
        proc = subprocess.run(cmd, env=self._env(), capture_output=True, text=True, input=input_, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}\n{proc.stdout[-3000:]}")
        return proc

    def _prepare(self) -> None:
        if self._ready:
            return
        if not self.work_dir.exists():
            shutil.copytree(self.project_dir, self.work_dir, ignore=shutil.ignore_patterns("__pycache__"))
        Path(self.state_dir).mkdir(parents=True, exist_ok=True)
        self._pulumi("stack", "select", "--create", self.stack)
        self._ready = True

    def run(
        self,
        verb: str,
        *,
        config: dict[str, str],
        secrets: dict[str, str],
        expect_no_changes: bool = False,
        check: bool = True,
    ) -> api.EngineResult:
        self._prepare()
        for key, value in config.items():
            self._pulumi("config", "set", "--stack", self.stack, key, value)
        for key, value in secrets.items():
            # On stdin, never in argv: with the value left out and stdin not a terminal, `config set` reads it
            # from stdin (pulumi/pulumi pkg/cmd/pulumi/config/config.go, configSetCmd.Run).
            self._pulumi("config", "set", "--secret", "--stack", self.stack, key, input_=value)
        args = [verb, "--stack", self.stack, "--json"]
        if verb != "preview":
            args += ["--yes", "--skip-preview"]
        if expect_no_changes:
            args.append("--expect-no-changes")
        proc = self._pulumi(*args, check=False)
        data = _normalise_cli_json(proc.stdout)
        result = api.EngineResult(proc.returncode, proc.stdout, proc.stderr, data, verb)
        if check and proc.returncode != 0:
            raise api.EngineError(result)
        return result

    def export(self) -> dict[str, Any]:
        self._prepare()
        return dict(json.loads(self._pulumi("stack", "export", "--stack", self.stack).stdout))

    def import_(self, deployment: dict[str, Any]) -> None:
        self._prepare()
        path = self.work_dir / "import.json"
        path.write_text(json.dumps(deployment))
        self._pulumi("stack", "import", "--stack", self.stack, "--file", str(path))

    def state_text(self) -> str:
        path = Path(self.state_dir) / ".pulumi" / "stacks"
        return "".join(p.read_text() for p in sorted(path.rglob("*.json")))


def _normalise_cli_json(stdout: str) -> dict[str, Any]:
    """The CLI's `--json` (steps + changeSummary, or an engine-event stream) in our document's shape."""
    text = stdout.strip()
    if not text:
        return {}
    try:
        doc = json.loads(text)
        events = None
    except json.JSONDecodeError:
        doc = {}
        events = [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
    steps: list[dict[str, Any]] = []
    if events is not None:
        for event in events:
            meta = (event.get("resOutputsEvent") or {}).get("metadata")
            if meta:
                diffs = meta.get("diffs") or []
                step = {"urn": meta["urn"], "type": meta["type"], "op": meta["op"], "diffs": diffs}
                # What the CLI's display lists without a detailed diff (display/rows.go getDiffInfo).
                olds = (meta.get("old") or {}).get("inputs") or {}
                news = (meta.get("new") or {}).get("inputs") or {}
                shown = sorted(k for k in set(olds) | set(news) if not k.startswith("__")
                               and olds.get(k) != news.get(k))  # fmt: skip
                if shown and meta["op"] != "same":
                    step["inputDiff"] = shown
                steps.append(step)
    else:
        for step in doc.get("steps") or []:
            state = step.get("newState") or step.get("oldState") or {}
            steps.append({"urn": step["urn"], "type": state.get("type", ""), "op": step["op"],
                          "diffs": step.get("diffs") or []})  # fmt: skip
    changes = {"create": 0, "update": 0, "replace": 0, "delete": 0, "same": 0}
    for step in steps:
        if step["type"].startswith("pulumi:providers:"):
            continue
        if step["op"] in changes:
            changes[step["op"]] += 1
    return {"changes": changes, "steps": steps, "outputs": doc.get("outputs") or {}}


def _ops(result: api.EngineResult) -> dict[str, str]:
    """resource name → op, sames and default providers left out."""
    return {
        s["urn"].rsplit("::", 1)[-1]: s["op"]
        for s in result.data.get("steps") or []
        if s["op"] != "same" and not s["type"].startswith("pulumi:providers:")
    }


@dataclass
class Lifecycle:
    """What the caller knows about its program; `run()` does the rest.

    config/secrets: the stack's config for the first `up` (plus whatever the stack file holds).
    secret_values: plaintexts that must never appear in state or output.
    change_config/change_secrets + expected_change_ops: a config edit and exactly the resulting ops
        ({resource name: "update" | "replace"}); every other resource must stay the same.
    remove_config + expected_removed: a config edit that drops resources, and exactly which are deleted.
    snapshot: the "org" as a comparable value; after destroy it must equal the value before the first up
        (or satisfy `org_restored(before, after)` when something must legitimately stay).
    """

    runner: Runner
    config: dict[str, str]
    secrets: dict[str, str]
    secret_values: list[str]
    change_config: dict[str, str]
    expected_change_ops: dict[str, str]
    remove_config: dict[str, str]
    expected_removed: set[str]
    snapshot: Snapshot
    change_secrets: dict[str, str] = field(default_factory=dict)
    org_restored: Callable[[Any, Any], None] | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def _step(self, label: str, verb: str, config: dict[str, str], secrets: dict[str, str], **kw: Any) -> Any:
        t0 = time.monotonic()
        result = self.runner.run(verb, config=config, secrets=secrets, **kw)
        self.timings[label] = time.monotonic() - t0
        self._assert_no_plaintext(label, result.stdout + result.stderr)
        return result

    def _assert_no_plaintext(self, where: str, text: str) -> None:
        for secret in self.secret_values:
            assert secret not in text, f"a secret value appeared in plaintext ({where})"

    def run(self) -> dict[str, float]:
        started = time.monotonic()
        before = self.snapshot()
        cfg, sec = dict(self.config), dict(self.secrets)

        preview = self._step("preview", "preview", cfg, sec)
        ops = _ops(preview)
        assert ops and set(ops.values()) == {"create"}, f"first preview should only create: {ops}"
        assert self.snapshot() == before, "preview changed the org"

        up = self._step("up", "up", cfg, sec)
        assert _ops(up) == ops, f"up did other steps than its preview: {_ops(up)} vs {ops}"
        after_up = self.snapshot()
        assert after_up != before, "up changed nothing in the org"
        self._assert_no_plaintext("state after up", self.runner.state_text())

        self._step("preview --expect-no-changes", "preview", cfg, sec, expect_no_changes=True)
        noop = self._step("up (no-op)", "up", cfg, sec, expect_no_changes=True)
        assert _ops(noop) == {}, f"second up was not a no-op: {_ops(noop)}"
        assert self.snapshot() == after_up, "a no-op up changed the org"

        t0 = time.monotonic()
        exported = self.runner.export()
        assert exported.get("version") == 3 and "deployment" in exported
        self._assert_no_plaintext("stack export", json.dumps(exported))
        self.runner.import_(exported)
        assert self.runner.export()["deployment"]["resources"] == exported["deployment"]["resources"]
        self.timings["export/import"] = time.monotonic() - t0
        self._step("preview after import", "preview", cfg, sec, expect_no_changes=True)

        self._step("refresh --expect-no-changes", "refresh", cfg, sec, expect_no_changes=True)

        cfg.update(self.change_config)
        sec.update(self.change_secrets)
        change_preview = self._step("preview change", "preview", cfg, sec)
        assert _ops(change_preview) == self.expected_change_ops, (
            f"config change previewed {_ops(change_preview)}, expected {self.expected_change_ops}"
        )
        change = self._step("up change", "up", cfg, sec)
        assert _ops(change) == self.expected_change_ops, (
            f"config change did {_ops(change)}, expected {self.expected_change_ops}"
        )
        self._assert_no_plaintext("state after the change", self.runner.state_text())
        self._step("up after change (no-op)", "up", cfg, sec, expect_no_changes=True)

        cfg.update(self.remove_config)
        removed = self._step("up remove", "up", cfg, sec)
        assert _ops(removed) == dict.fromkeys(self.expected_removed, "delete"), (
            f"removing did {_ops(removed)}, expected deletes of {sorted(self.expected_removed)}"
        )

        destroy = self._step("destroy", "destroy", cfg, sec)
        assert set(_ops(destroy).values()) <= {"delete"}, f"destroy did {_ops(destroy)}"
        after = self.snapshot()
        if self.org_restored is not None:
            self.org_restored(before, after)
        else:
            assert after == before, "destroy did not leave the org as it was before"
        state = self.runner.state_text()
        self._assert_no_plaintext("state after destroy", state)
        self.timings["total"] = time.monotonic() - started
        return self.timings
