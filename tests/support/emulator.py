"""The org emulator as the tests use it: its pytest fixtures (registered from tests/conftest.py) and a
reading of its call counters.

- `emulator` (session): one server process for the whole test session.
- `org` (function): that server reset to the seeded org (counters and faults cleared) before the test.
- `fresh_emulator` (function): a separate server with its own state dir (restart / isolation tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.sf_emulator.client import EmulatorHandle

__all__ = ["EmulatorHandle", "emulator", "fresh_emulator", "org", "salesforce_ops"]


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    handle = EmulatorHandle(tmp_path_factory.mktemp("emulator-state"))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def org(emulator: EmulatorHandle) -> EmulatorHandle:
    if emulator.proc is None or emulator.proc.poll() is not None:
        emulator.start()
    emulator.reset()
    return emulator


@pytest.fixture
def fresh_emulator(tmp_path: Path) -> Iterator[EmulatorHandle]:
    handle = EmulatorHandle(tmp_path / "emulator-state")
    try:
        yield handle
    finally:
        handle.stop()


def salesforce_ops(calls: dict[str, Any]) -> dict[str, int]:
    """The Salesforce API calls of a `calls()` reading, by operation: the test's own control calls and the
    fake Aircall's are listed under `by_operation` too, but are not Salesforce's (docs/contracts.md §1)."""
    return {k: v for k, v in calls["by_operation"].items() if not k.startswith(("controls.", "aircall."))}
