"""Pytest fixtures for the org emulator (registered from tests/conftest.py).

- `emulator` (session): one server process for the whole test session.
- `org` (function): that server reset to the seeded org (counters and faults cleared) before the test.
- `fresh_emulator` (function): a separate server with its own state dir (restart / isolation tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.sf_emulator.client import EmulatorHandle

__all__ = ["EmulatorHandle", "emulator", "fresh_emulator", "org"]


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
