"""The Voice Connector package's permission sets are in the org: one SOQL on PermissionSet by Name or Label
(the config may name either)."""

from __future__ import annotations

from typing import Any

from providers.config.keys import PERMISSION_SET_KEYS
from providers.preflight.runner import PASS, Blocker, Check, Run, Verdict
from salesforce import soql_quote


def _wanted(run: Run) -> list[str]:
    return [str(name) for name in run.inputs.get("permission_sets") or []]


def _present(run: Run) -> set[str]:
    wanted = _wanted(run)
    if not wanted:
        return set()
    quoted = ", ".join(soql_quote(name) for name in wanted)
    rows = run.client.query(
        f"SELECT Id, Name, Label FROM PermissionSet WHERE Name IN ({quoted}) OR Label IN ({quoted})",
        artifact="Preflight permission sets",
    )
    return {str(r.get(k) or "").lower() for r in rows for k in ("Name", "Label")}


def _verdict(run: Run, present: set[str]) -> Verdict:
    missing = [name for name in _wanted(run) if name.lower() not in present]
    if not missing:
        return PASS
    return Verdict(
        [
            Blocker(
                f"permission set(s) {', '.join(missing)} not found in this org",
                "guide: Configure Aircall with ECI — install and launch the Voice Connector app (its package "
                "brings these permission sets), or correct the names in "
                f"{PERMISSION_SET_KEYS[0].top_full_name}",
                "permission_sets",
            )
        ]
    )


PERMISSION_SETS: Check[Any] = Check(
    "Voice Connector package permission sets", _present, _verdict, needs=("permission_sets",)
)
