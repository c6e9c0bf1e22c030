"""The org as an admin would read it (SOQL and Metadata reads), before and after: what destroy restores."""

from __future__ import annotations

from typing import Any

from devtools.sf_emulator.client import EmulatorHandle
from tests.support.demo_stack import USERNAME


def _rows(sf: Any, soql: str) -> list[tuple[Any, ...]]:
    records = sf.query_all(soql)["records"]
    return sorted(tuple(_flat(v) for k, v in r.items() if k != "attributes") for r in records)


def _flat(value: Any) -> Any:
    # Relationship fields come back as nested records ({"attributes": ..., "Username": ...}).
    if isinstance(value, dict):
        return tuple(v for k, v in value.items() if k != "attributes")
    return value


def org_snapshot(org: EmulatorHandle) -> dict[str, Any]:
    """Everything the program touches, read as an admin would (SOQL and Metadata reads)."""
    sf = org.sf()
    eca: Any = org.mdapi().ExternalClientApplication.read(["ECI_Connected_App"])
    return {
        "connected_apps": _rows(sf, "SELECT Name FROM ConnectedApplication"),
        "external_client_apps": [eca.fullName] if getattr(eca, "fullName", None) else [],
        "auth_providers": _rows(sf, "SELECT DeveloperName FROM AuthProvider"),
        "named_credentials": _rows(sf, "SELECT DeveloperName, Endpoint FROM NamedCredential"),
        "sites": _rows(sf, "SELECT Name FROM Site"),
        "users": _rows(sf, "SELECT Username, IsActive FROM User"),
        "assignments": _rows(sf, "SELECT Assignee.Username, PermissionSet.Name FROM PermissionSetAssignment"),
    }


def org_restored(before: dict[str, Any], after: dict[str, Any]) -> None:
    """As before, except that Salesforce never deletes users: those the stack made are left inactive."""
    for key in before:
        if key == "users":
            continue
        assert after[key] == before[key], f"destroy left {key} different: {before[key]} -> {after[key]}"
    old_users = dict(before["users"])
    for username, active in after["users"]:
        if username in old_users:
            assert active == old_users[username], f"destroy changed {username}'s IsActive"
        else:
            assert active is False, f"{username} is still active after destroy"
    assert USERNAME in {u for u, _ in after["users"]}
