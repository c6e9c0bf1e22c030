"""The provider tests' surroundings: fast retries, a create journal of their own, no client shared between
tests. The provider kit they use (a configured provider, the Driver) is tests/support/driver.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import salesforce


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Backoff in milliseconds so fault tests stay fast (the production default is 1 s)."""
    monkeypatch.setenv("ECI_RETRY_BASE_SECONDS", "0.01")
    yield


@pytest.fixture(autouse=True)
def create_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own create journal (providers.kit.journal.CreateJournal), never the user's home."""
    journal = tmp_path / "create-journal"
    monkeypatch.setenv("ECI_CREATE_JOURNAL_DIR", str(journal))
    return journal


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    """Each test starts with no shared client, so a test's call count includes its own login, if any."""
    salesforce.reset_clients()
    yield
    salesforce.reset_clients()
