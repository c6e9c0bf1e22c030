"""The official `sf` CLI against the ECI surfaces: `sf data query` of the recording providers, permission set
licenses and the package's User field, `sf data update record` of a provider and a rep's identifier, and
`sf project retrieve start` / `deploy start` of the Settings component ConversationalIntelligence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devtools.sf_emulator.client import EmulatorHandle
from tests.support.sf_cli import Sf

SETTINGS_FILE = Path("force-app/main/default/settings/ConversationalIntelligence.settings-meta.xml")


@pytest.fixture(scope="module")
def logged_in(sf: Sf) -> Sf:
    sf.login("emu")
    return sf


def _query(sf: Sf, soql: str) -> list[dict[str, Any]]:
    records = sf("data", "query", "--target-org", "emu", "--query", soql)["result"]["records"]
    assert isinstance(records, list)
    return records


def test_query_the_recording_providers_and_activate_aircall(logged_in: Sf, sf_org: EmulatorHandle) -> None:
    soql = "SELECT Id, ProviderName, IsActive FROM CallCoachingMediaProvider WHERE ProviderName = 'aircall'"
    (aircall,) = _query(logged_in, soql)
    assert (aircall["ProviderName"], aircall["IsActive"]) == ("Aircall", False)
    logged_in(
        "data",
        "update",
        "record",
        "--target-org",
        "emu",
        "--sobject",
        "CallCoachingMediaProvider",
        "--record-id",
        aircall["Id"],
        "--values",
        "IsActive=true",
    )
    assert _query(logged_in, soql)[0]["IsActive"] is True
    sf_org.receive_voice_calls(2)
    calls = _query(logged_in, "SELECT Id, MediaProvider.ProviderName FROM VoiceCall")
    assert [c["MediaProvider"]["ProviderName"] for c in calls] == ["Aircall", "Aircall"]


def test_query_license_seats_and_the_eci_permission_sets(logged_in: Sf) -> None:
    (psl,) = _query(
        logged_in,
        "SELECT Id, MasterLabel, TotalLicenses, UsedLicenses FROM PermissionSetLicense "
        "WHERE MasterLabel = 'Einstein Conversation Insights'",
    )
    assert (psl["TotalLicenses"], psl["UsedLicenses"]) == (100, 0)
    sets = _query(
        logged_in,
        "SELECT Label, LicenseId FROM PermissionSet WHERE Label IN "
        "('Conversation Insights for Sales', 'Einstein Conversation Insights Included')",
    )
    assert {s["Label"]: s["LicenseId"] for s in sets} == {
        "Conversation Insights for Sales": psl["Id"],
        "Einstein Conversation Insights Included": None,
    }


def test_update_a_reps_aircall_identifier(logged_in: Sf) -> None:
    field = "vconn__Aircall_User_Identifier__c"
    (admin,) = _query(logged_in, "SELECT Id FROM User")
    logged_in(
        "data",
        "update",
        "record",
        "--target-org",
        "emu",
        "--sobject",
        "User",
        "--record-id",
        admin["Id"],
        "--values",
        f"{field}=100042",
    )
    found = _query(logged_in, f"SELECT Id, {field} FROM User WHERE {field} = '100042'")
    assert [(r["Id"], r[field]) for r in found] == [(admin["Id"], "100042")]


def _project(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "force-app").mkdir()
    project = {"packageDirectories": [{"path": "force-app", "default": True}], "sourceApiVersion": "63.0"}
    (root / "sfdx-project.json").write_text(json.dumps(project))
    return root


def test_retrieve_and_deploy_the_settings(logged_in: Sf, sf_org: EmulatorHandle, tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    member = "Settings:ConversationalIntelligence"
    result = logged_in("project", "retrieve", "start", "-o", "emu", "--metadata", member, cwd=project)
    assert result["result"]["success"] is True and result["result"]["messages"] == []
    text = (project / SETTINGS_FILE).read_text()
    assert "<enableCallCoaching>true</enableCallCoaching>" in text
    assert "<enableCallSummarization>false</enableCallSummarization>" in text
    # An admin's switch in the file, deployed back, switches ECI off in the org.
    switched = text.replace("<enableCallCoaching>true<", "<enableCallCoaching>false<")
    (project / SETTINGS_FILE).write_text(switched)
    deployed = logged_in("project", "deploy", "start", "-o", "emu", "--metadata", member, cwd=project)
    assert deployed["result"]["success"] is True
    settings = sf_org.mdapi().ConversationalIntelligenceSettings.read(["ConversationalIntelligence"])
    assert settings.enableCallCoaching is False
