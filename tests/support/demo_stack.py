"""The program's demo stack (`stacks/Pulumi.demo.yaml`, what `make demo` runs) through the real pulumi CLI
against an emulator org: its config, its integration user, and one verb run on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from devtools.pulumi_cli.api import run
from devtools.sf_emulator.client import EmulatorHandle
from tests.support import REPO

# The demo stack: its file holds the structured values (integrationUser), which `-c` cannot set by path;
# the connection comes from the emulator at run time, as in `make demo`.
STACK = "demo"
# The config namespace, written out rather than taken from the program: key names are a contract.
NS = "eci-aircall"
_DEMO = yaml.safe_load((REPO / "stacks" / f"Pulumi.{STACK}.yaml").read_text())["config"]
USERNAME: str = _DEMO[f"{NS}:integrationUser"]["username"]


def stack_config(org: EmulatorHandle, **overrides: str) -> tuple[dict[str, str], dict[str, str]]:
    """(config, secrets) for the demo stack on the emulator org, as `-c` / `--secret` would give them."""
    config = {
        f"{NS}:instanceUrl": org.instance_url,
        f"{NS}:caBundle": org.ca_cert,
        f"{NS}:aircallApiUrl": org.aircall_url,
        f"{NS}:aircallApiId": org.aircall_api_id,
        # The Aircall named credential points at the emulator's fake Aircall, so its health probe (a callout
        # from inside the org) reaches it.
        f"{NS}:aircallEndpoint": f"{org.instance_url}/aircall/",
    }
    secrets = {f"{NS}:accessToken": org.access_token, f"{NS}:aircallApiToken": org.aircall_api_token}
    for key, value in overrides.items():
        (secrets if key in ("accessToken", "aircallApiToken") else config)[f"{NS}:{key}"] = value
    return config, secrets


def engine(verb: str, org: EmulatorHandle, state: Path, **kw: Any) -> Any:
    """`pulumi <verb>` of the demo stack, its state under `state`; `overrides`: {key: value} of config."""
    overrides = kw.pop("overrides", {})
    config, secrets = stack_config(org, **overrides)
    return run(verb, stack=STACK, cwd=REPO, state_dir=state, config=config, secrets=secrets, **kw)
