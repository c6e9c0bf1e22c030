"""The providers' side of the stack config: the connection settings ``configure()`` receives.

Pulumi hands a Python dynamic provider the stack config (``pulumi.dynamic.Config``, the namespace's keys by
full name; pulumi/pulumi#17673). Only the connection keys are read here; the program's own keys reach the
providers as resource inputs (``stack.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.config.keys import CONNECTION, CONNECTION_KEYS, ConfigKey
from salesforce.settings import ConnectionSettings


def connection_settings(config: Any) -> ConnectionSettings:
    """:data:`CONNECTION_KEYS` read from a ``pulumi.dynamic.Config`` (or a plain mapping in tests, by full or
    bare name), each key's declared default applied; a value of "" counts as not set, as in Pulumi.yaml."""

    def get(key: ConfigKey) -> str | None:
        value: Any
        if isinstance(config, Mapping):
            value = config.get(key.full_name, config.get(key.name))
        else:
            value = config.get(key.full_name)
        value = str(value).strip() if value is not None else ""
        return value or (str(key.default) if key.default else None)

    values: dict[str, Any] = {key.attribute: get(key) for key in CONNECTION_KEYS}
    for url in ("instance_url", "login_url"):
        values[url] = (values[url] or "").rstrip("/") or None
    return ConnectionSettings(keys=CONNECTION, **values)
