"""Provider methods called against an emulator org without the engine: the provider configured as the
provider host leaves it (access token or SFDX auth URL), and a small driver that calls the provider methods in
the order the engine does (check → create / diff → update / read / delete)."""

from __future__ import annotations

from typing import Any, TypeVar

from pulumi.dynamic import Config, ConfigureRequest

from providers.config.connection import connection_settings
from providers.kit import ProviderBase, unwrap
from salesforce import ConnectionSettings

P = TypeVar("P", bound=ProviderBase)


def provider_config(org: Any, **extra: str) -> dict[str, str]:
    config = {
        "eci-aircall:instanceUrl": org.instance_url,
        "eci-aircall:accessToken": org.access_token,
        "eci-aircall:caBundle": org.ca_cert,
    }
    config.update({f"eci-aircall:{k}": v for k, v in extra.items()})
    return config


def sfdx_config(org: Any) -> dict[str, str]:
    """The connection as an SFDX auth URL, whose session renews itself."""
    return {"eci-aircall:sfdxAuthUrl": org.sfdx_auth_url(), "eci-aircall:caBundle": org.ca_cert}


def sfdx_settings(org: Any) -> ConnectionSettings:
    return connection_settings(sfdx_config(org))


def configured(provider: P, org: Any, **extra: str) -> P:
    """The provider as the provider host leaves it: unpickled, then configured with the stack config."""
    provider.configure(ConfigureRequest(Config(provider_config(org, **extra), "test-project")))
    return provider


def sfdx_configured(provider: P, org: Any) -> P:
    """Configured with an SFDX auth URL, so an expired session can be renewed."""
    provider.configure(ConfigureRequest(Config(sfdx_config(org), "test-project")))
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
