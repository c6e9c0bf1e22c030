"""The provider test program, `programs/resources` beside this module, run through the real pulumi CLI against
the emulator, with the resources of a scenario given as data (see that program's docstring)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from devtools.pulumi_cli.api import CliResult, run, stack_export

PROGRAM = Path(__file__).parent / "programs" / "resources"


class Stack:
    """One stack of the provider test program, against one emulator org."""

    def __init__(self, org: Any, state_dir: Path, name: str = "test") -> None:
        self.org = org
        self.state_dir = state_dir
        self.name = name
        self.resources: list[dict[str, Any]] = []
        self.secrets: dict[str, str] = {}
        self.extra_config: dict[str, str] = {}

    def connection(self) -> tuple[dict[str, str], dict[str, str]]:
        config = {
            "eci-aircall:instanceUrl": self.org.instance_url,
            "eci-aircall:caBundle": self.org.ca_cert,
            **self.extra_config,
        }
        secrets = {"eci-aircall:accessToken": self.org.access_token}
        return config, secrets

    def run(self, verb: str, *, expect_no_changes: bool = False, check: bool = True) -> CliResult:
        config, secrets = self.connection()
        config["test:resources"] = json.dumps(self.resources)
        secrets.update({f"test:{k}": v for k, v in self.secrets.items()})
        return run(
            verb,
            stack=self.name,
            cwd=PROGRAM,
            state_dir=self.state_dir,
            config=config,
            secrets=secrets,
            expect_no_changes=expect_no_changes,
            check=check,
            env={"ECI_RETRY_BASE_SECONDS": "0.01", "ECI_CREATE_JOURNAL_DIR": str(self.state_dir / "journal")},
        )

    def up(self, **kw: Any) -> CliResult:
        return self.run("up", **kw)

    def preview(self, **kw: Any) -> CliResult:
        return self.run("preview", **kw)

    def refresh(self, **kw: Any) -> CliResult:
        return self.run("refresh", **kw)

    def destroy(self, **kw: Any) -> CliResult:
        return self.run("destroy", **kw)

    def export(self) -> dict[str, Any]:
        return stack_export(stack=self.name, cwd=PROGRAM, state_dir=self.state_dir)

    def outputs(self, name: str) -> dict[str, Any]:
        """The state outputs of resource `name` (secrets as the engine stores them)."""
        return resource_outputs(self.export(), name)


def resource_outputs(state: dict[str, Any], name: str) -> dict[str, Any]:
    """One resource's outputs from a `stack export` (one export serves several look-ups)."""
    for resource in state.get("deployment", {}).get("resources", []):
        if resource.get("urn", "").endswith(f"::{name}"):
            return dict(resource.get("outputs") or {})
    raise KeyError(name)


def changed_ops(result: CliResult) -> dict[str, str]:
    """Resource name → step op, for the steps that are not 'same'."""
    return {urn.rsplit("::", 1)[-1]: op for urn, op in result.ops().items()}
