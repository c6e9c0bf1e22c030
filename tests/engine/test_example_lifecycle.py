"""The acceptance lifecycle on the example program (two PermissionSets in the emulator org), proving the kit.

Run through the local engine always, and through the real `pulumi` CLI when it is on PATH.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from devtools.engine.api import TEST_PASSPHRASE
from devtools.engine.lifecycle import EngineRunner, Lifecycle, PulumiCliRunner, Runner

EXAMPLE = Path(__file__).resolve().parents[2] / "devtools" / "engine" / "example"
NOTE = "example-secret-note-7f3a"  # the `example:note` secret in example/stacks/Pulumi.dev.yaml
ENV = {"PULUMI_CONFIG_PASSPHRASE": TEST_PASSPHRASE}  # what that stack file is encrypted with


def _permission_sets(org: Any) -> list[tuple[str, str, str, str]]:
    records = org.sf().query_all("SELECT Id, Name, Label, Description FROM PermissionSet")["records"]
    return sorted((r["Id"], r["Name"], r["Label"], r.get("Description") or "") for r in records)


def _lifecycle(org: Any, runner: Runner) -> Lifecycle:
    return Lifecycle(
        runner=runner,
        config={"example:instanceUrl": org.instance_url, "example:caBundle": org.ca_cert},
        secrets={"example:accessToken": org.access_token},
        secret_values=[NOTE, org.access_token],
        change_config={"example:firstName": "Engine_Example_First_V2", "example:secondLabel": "Second v2"},
        # first's API name forces a replace; second follows first's new Id (and its new label): an update.
        expected_change_ops={"first": "replace", "second": "update"},
        remove_config={"example:withSecond": "false"},
        expected_removed={"second"},
        snapshot=lambda: _permission_sets(org),
    )


def test_example_lifecycle_through_the_local_engine(org: Any, tmp_path: Path) -> None:
    runner = EngineRunner(EXAMPLE, "dev", tmp_path / "state", env=ENV)
    t0 = time.monotonic()
    timings = _lifecycle(org, runner).run()
    print(f"\nexample lifecycle (local engine): {time.monotonic() - t0:.1f}s; " + ", ".join(
        f"{k}={v:.2f}s" for k, v in timings.items()
    ))  # fmt: skip


def test_second_resource_description_holds_the_first_ones_id(org: Any, tmp_path: Path) -> None:
    runner = EngineRunner(EXAMPLE, "dev", tmp_path / "state", env=ENV)
    config = {"example:instanceUrl": org.instance_url, "example:caBundle": org.ca_cert}
    up = runner.run("up", config=config, secrets={"example:accessToken": org.access_token})
    first_id = org.sf().PermissionSet.get(up.outputs["first_id"])
    second = org.sf().PermissionSet.get(up.outputs["second_id"])
    assert second["Description"] == f"follows {first_id['Id']}"
    assert first_id["Description"] == NOTE  # the secret input reached the org, decrypted by the engine
    assert up.data["outputs"] == {"first_id": first_id["Id"], "second_id": second["Id"]}
    runner.run("destroy", config=config, secrets={"example:accessToken": org.access_token})


@pytest.mark.skipif(shutil.which("pulumi") is None, reason="the pulumi CLI is not on PATH")
def test_example_lifecycle_through_the_real_pulumi_cli(org: Any, tmp_path: Path) -> None:
    runner = PulumiCliRunner(EXAMPLE, "dev", tmp_path / "state", tmp_path / "project", env=ENV)
    _lifecycle(org, runner).run()
