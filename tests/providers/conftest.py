"""Shared helpers for provider tests: a provider configured against the emulator, and a small driver that
calls
the provider methods in the order the engine does (check → create / diff → update / read / delete)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pulumi.dynamic import Config, ConfigureRequest

import salesforce
from providers.kit import ProviderBase, unwrap

P = TypeVar("P", bound=ProviderBase)


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


def provider_config(org: Any, **extra: str) -> dict[str, str]:
    config = {
        "eci-aircall:instanceUrl": org.instance_url,
        "eci-aircall:accessToken": org.access_token,
        "eci-aircall:caBundle": org.ca_cert,
    }
    config.update({f"eci-aircall:{k}": v for k, v in extra.items()})
    return config


def configured(provider: P, org: Any, **extra: str) -> P:
    """The provider as the provider host leaves it: unpickled, then configured with the stack config."""
    provider.configure(ConfigureRequest(Config(provider_config(org, **extra), "test-project")))
    return provider


class Driver:
    """Calls a provider the way the engine does and keeps the outputs, like state."""

    def __init__(self, provider: ProviderBase) -> None:
        self.provider = provider
        self.id: str = ""
        self.outs: dict[str, Any] = {}

    def check(self, inputs: dict[str, Any]) -> dict[str, Any]:
        result = self.provider.check(self.outs, {"__provider": "p", **inputs})
        failures = [(f.property, f.reason) for f in result.failures]
        assert not failures, failures
        return dict(result.inputs)

    def create(self, **inputs: Any) -> dict[str, Any]:
        created = self.provider.create(self.check(inputs))
        assert created.id
        self.id = created.id
        self.outs = dict(created.outs or {})
        return self.plain()

    def diff(self, **inputs: Any) -> Any:
        return self.provider.diff(self.id, self.outs, self.check(inputs))

    def update(self, **inputs: Any) -> dict[str, Any]:
        updated = self.provider.update(self.id, self.outs, self.check(inputs))
        self.outs = dict(updated.outs or {})
        return self.plain()

    def read(self) -> Any:
        result = self.provider.read(self.id, {"__provider": "p", **self.outs})
        if result.id:
            self.outs = dict(result.outs or {})
        return result

    def delete(self) -> None:
        self.provider.delete(self.id, self.outs)

    def plain(self) -> dict[str, Any]:
        return unwrap(self.outs)[0]


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    """Each test starts with no shared client, so a test's call count includes its own login, if any."""
    salesforce.reset_clients()
    yield
    salesforce.reset_clients()
