"""The `raising` test program's provider: each resource's create raises what its inputs ask, through the
provider base every product provider has (``providers.reporting.Reporting``), so a test sees under the real
CLI and Pulumi's own provider host how each kind of error reaches the user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, ResourceProvider

from providers.reporting import Reporting
from salesforce import SalesforceError, UsageError

PROGRAM = Path(__file__).parent / "programs" / "raising"
FIX = "run `pulumi config set raising:ready true`"


def _look_up(props: dict[str, Any]) -> Any:
    """A bug: the key is not there (its frame must show in the traceback)."""
    return props["no such input"]


class RaisingProvider(Reporting, ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        name, kind = str(props["name"]), str(props["raise"])
        if kind == "usage":
            raise UsageError("NOT_READY", f"{name} is not ready", artifact=f"Thing {name}", hint=FIX)
        if kind == "failure":
            raise SalesforceError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access", artifact=name)
        if kind == "unexpected":
            _look_up(props)
        return CreateResult(name, dict(props))


class Raising(pulumi.dynamic.Resource):
    def __init__(self, name: str, kind: str) -> None:
        super().__init__(RaisingProvider(), name, {"name": name, "raise": kind})
