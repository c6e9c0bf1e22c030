"""The lifecycle kit itself must fail loudly when a program does not behave (no test that cannot fail)."""

from __future__ import annotations

import json

import pytest

from devtools.engine.api import TEST_PASSPHRASE
from devtools.engine.lifecycle import EngineRunner, Lifecycle

from .conftest import FileProg


def test_the_kit_fails_when_up_leaves_no_trace_in_the_org(fileprog: FileProg) -> None:
    runner = EngineRunner(
        fileprog.cwd, "dev", fileprog.state_dir, env={"PULUMI_CONFIG_PASSPHRASE": TEST_PASSPHRASE}
    )
    kit = Lifecycle(
        runner=runner,
        config={"fileprog:db": str(fileprog.db), "fileprog:items": json.dumps([{"name": "a"}])},
        secrets={},
        secret_values=[],
        change_config={},
        expected_change_ops={},
        remove_config={},
        expected_removed=set(),
        snapshot=lambda: "an org that never changes",  # wrong on purpose: the kit must notice
    )
    with pytest.raises(AssertionError, match="up changed nothing in the org"):
        kit.run()
    assert set(kit.timings) == {"preview", "up"}
