"""The official Salesforce CLI (`sf`) as an acceptance client of the emulator: each test module gets one fresh
emulator org and one isolated CLI home (tests/support/sf_cli.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.sf_emulator.client import EmulatorHandle
from tests.support.sf_cli import Sf, require_cli


@pytest.fixture(scope="module")
def sf_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    """A fresh emulator org for this module's CLI workflows."""
    handle = EmulatorHandle(tmp_path_factory.mktemp("sf-org"))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def sf(sf_org: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory) -> Sf:
    require_cli()
    return Sf(tmp_path_factory.mktemp("sf-home"), sf_org)
