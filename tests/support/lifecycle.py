"""The provider acceptance lifecycle, reusable by any program (our providers, the component).

    preview (creates, changes nothing) → up → preview --expect-no-changes → up no-op → stack export/import
    round-trip → refresh --expect-no-changes → change config → exactly the expected update/replace →
    remove a resource → exactly those deleted → destroy → org as before → no plaintext secret in state

Each step is asserted, through the real `pulumi` CLI on a file backend (`CliRunner`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.pulumi_cli import api

Snapshot = Callable[[], Any]


@dataclass
class CliRunner:
    """One stack of a project through the real `pulumi` CLI (devtools/pulumi_cli), state under state_dir."""

    project_dir: Path
    stack: str
    state_dir: Path
    env: dict[str, str] | None = None
    parallel: int | None = None
    name: str = "pulumi-cli"

    def run(
        self,
        verb: str,
        *,
        config: dict[str, str],
        secrets: dict[str, str],
        expect_no_changes: bool = False,
        check: bool = True,
    ) -> api.CliResult:
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
        return api.state_text(self.state_dir)


def _ciphertexts_masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<ciphertext>" if k == "ciphertext" else _ciphertexts_masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ciphertexts_masked(v) for v in value]
    return value


def _ops(result: api.CliResult) -> dict[str, str]:
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

    runner: CliRunner
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
            if secret in text:
                at = text.index(secret)
                before = text[max(0, at - 200) : at]
                raise AssertionError(f"a secret value appeared in plaintext ({where}): …{before}")

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
        # The CLI decrypts and re-encrypts every secret on import, each with a fresh nonce: the ciphertexts
        # change, nothing else may.
        again = self.runner.export()["deployment"]["resources"]
        assert _ciphertexts_masked(again) == _ciphertexts_masked(exported["deployment"]["resources"])
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
