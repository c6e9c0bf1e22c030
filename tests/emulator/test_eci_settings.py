"""Metadata ConversationalIntelligenceSettings (fullName ConversationalIntelligence): read and update through
the live SOAP API, deploy and retrieve as Settings, the unlicensed org's two answers, and the dependent
preferences that stay read-only right after ECI is switched on."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from zeep.exceptions import Fault

from devtools.sf_emulator.client import EmulatorHandle

MD = "http://soap.sforce.com/2006/04/metadata"
NAME = "ConversationalIntelligence"
FIELDS = [
    "enableCallCoaching",
    "enableCallCoachingZoom",
    "enableCallExplorer",
    "enableCallSummarization",
    "enableConversationMining",
    "enableDiarizationPref",
    "enableGenerativeConvInsights",
    "enableManualUpload",
    "enableOpptyMatching",
    "enableUnifiedActivities",
]


def _read(org: EmulatorHandle) -> Any:
    return org.mdapi().ConversationalIntelligenceSettings.read([NAME])


def _update(org: EmulatorHandle, **fields: bool) -> Any:
    """updateMetadata as a client sends it; the one SaveResult (success false is an answer, not a fault)."""
    mdapi = org.mdapi()
    record = mdapi._client.get_type("ns0:ConversationalIntelligenceSettings")(fullName=NAME, **fields)
    results = mdapi._service.updateMetadata(metadata=[record], _soapheaders=[mdapi._session_header])
    assert len(results) == 1
    return results[0]


def _status(result: Any) -> str | None:
    return None if result.success else str(result.errors[0].statusCode)


def test_read_lists_every_preference_with_eci_on_in_the_seeded_org(org: EmulatorHandle) -> None:
    record = _read(org)
    assert record.fullName == NAME
    assert {f: getattr(record, f) for f in FIELDS} == {f: f == "enableCallCoaching" for f in FIELDS}
    # Never present in retrieved files.
    assert record.enableRealtimeInsights is None


def test_update_switches_eci_and_an_admins_switch_in_setup_shows(org: EmulatorHandle) -> None:
    assert _update(org, enableCallCoaching=False).success is True
    assert _read(org).enableCallCoaching is False
    assert org.settings()["eci_enabled"] is False
    org.settings(eci_enabled=True)  # an admin turns it back on in Setup
    assert _read(org).enableCallCoaching is True


def test_an_update_changes_only_the_fields_it_names(org: EmulatorHandle) -> None:
    assert _update(org, enableCallSummarization=True).success is True
    assert _update(org, enableOpptyMatching=True).success is True
    record = _read(org)
    assert (record.enableCallSummarization, record.enableOpptyMatching, record.enableCallCoaching) == (
        True,
        True,
        True,
    )
    org.reset()
    assert _read(org).enableCallSummarization is False


def test_settings_are_never_created_or_deleted(org: EmulatorHandle) -> None:
    mdapi = org.mdapi()
    record = mdapi._client.get_type("ns0:ConversationalIntelligenceSettings")(fullName=NAME)
    created = mdapi._service.createMetadata(metadata=[record], _soapheaders=[mdapi._session_header])[0]
    deleted = mdapi._service.deleteMetadata(
        type="ConversationalIntelligenceSettings", fullNames=[NAME], _soapheaders=[mdapi._session_header]
    )[0]
    assert _status(created) == _status(deleted) == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert _read(org).enableCallCoaching is True


def test_an_unlicensed_org_reads_eci_off_and_refuses_the_switch_as_a_result(org: EmulatorHandle) -> None:
    org.settings(eci_licensed=False)  # eci_unlicensed_answer "off": indistinguishable from licensed-but-off
    assert _read(org).enableCallCoaching is False
    refused = _update(org, enableCallCoaching=True)
    assert _status(refused) == "INVALID_TYPE"
    assert refused.errors[0].message == "Not available for deploy for this organization"
    assert _read(org).enableCallCoaching is False
    # Asking for nothing new is no refusal.
    assert _update(org, enableCallCoaching=False).success is True


def test_an_unlicensed_org_can_also_refuse_the_type(org: EmulatorHandle) -> None:
    org.settings(eci_licensed=False, eci_unlicensed_answer="unavailable")
    with pytest.raises(Fault, match="This type of metadata is not available for this organization") as raised:
        _read(org)
    assert raised.value.code == "sf:INVALID_TYPE"
    with pytest.raises(Fault, match="not available"):
        _update(org, enableCallCoaching=True)
    org.settings(eci_licensed=True)
    assert _read(org).enableCallCoaching is True


def test_right_after_switching_on_dependents_are_read_only_for_a_while(org: EmulatorHandle) -> None:
    org.settings(eci_enabled=False, eci_dependents_readonly=2)
    # Switching on and changing a dependent in one update is refused whole: ECI stays off.
    both = _update(org, enableCallCoaching=True, enableCallSummarization=True)
    assert _status(both) == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert list(both.errors[0].fields) == ["enableCallSummarization"]
    assert _read(org).enableCallCoaching is False
    assert _update(org, enableCallCoaching=True).success is True
    statuses = [_status(_update(org, enableCallSummarization=True)) for _ in range(3)]
    assert statuses == ["INSUFFICIENT_ACCESS_OR_READONLY", "INSUFFICIENT_ACCESS_OR_READONLY", None]
    assert _read(org).enableCallSummarization is True


def test_the_zoom_preference_is_independent_of_the_switch(org: EmulatorHandle) -> None:
    org.settings(eci_enabled=False, eci_dependents_readonly=5)
    assert _update(org, enableCallCoaching=True, enableCallCoachingZoom=True).success is True
    record = _read(org)
    assert (record.enableCallCoaching, record.enableCallCoachingZoom) == (True, True)


def test_off_by_default_nothing_is_read_only_after_the_switch(org: EmulatorHandle) -> None:
    org.settings(eci_enabled=False)
    assert _update(org, enableCallCoaching=True, enableCallExplorer=True).success is True


def _settings_zip(enable: bool) -> bytes:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ConversationalIntelligenceSettings xmlns="{MD}">\n'
        f"    <enableCallCoaching>{str(enable).lower()}</enableCallCoaching>\n"
        "</ConversationalIntelligenceSettings>\n"
    )
    package = (
        f'<?xml version="1.0" encoding="UTF-8"?><Package xmlns="{MD}"><types><members>{NAME}</members>'
        "<name>Settings</name></types><version>63.0</version></Package>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("package.xml", package)
        archive.writestr(f"settings/{NAME}.settings", body)
    return buffer.getvalue()


def test_a_deploy_of_the_settings_file_switches_eci(org: EmulatorHandle) -> None:
    sf = org.sf()
    started = sf.deploy(io.BytesIO(_settings_zip(False)), sandbox=False, checkOnly=False)
    assert sf.checkDeployStatus(started["asyncId"])["state"] == "Succeeded"
    assert _read(org).enableCallCoaching is False


def test_an_unavailable_type_fails_its_deploy(org: EmulatorHandle) -> None:
    org.settings(eci_licensed=False, eci_unlicensed_answer="unavailable")
    sf = org.sf()
    started = sf.deploy(io.BytesIO(_settings_zip(True)), sandbox=False, checkOnly=False)
    status = sf.checkDeployStatus(started["asyncId"])
    assert status["state"] == "Failed"
    assert status["deployment_detail"]["errors"][0]["message"] == (
        "Not available for deploy for this organization"
    )


def test_retrieve_as_settings_gives_the_settings_file(org: EmulatorHandle) -> None:
    mdapi = org.mdapi()
    client = mdapi._client
    package = client.get_type("ns0:Package")(
        types=[client.get_type("ns0:PackageTypeMembers")(name="Settings", members=[NAME])], version="63.0"
    )
    request = client.get_type("ns0:RetrieveRequest")(apiVersion=63.0, singlePackage=True, unpackaged=package)
    queued = mdapi._service.retrieve(retrieveRequest=request, _soapheaders=[mdapi._session_header])
    result = mdapi._service.checkRetrieveStatus(
        asyncProcessId=queued.id, includeZip=True, _soapheaders=[mdapi._session_header]
    )
    archive = zipfile.ZipFile(io.BytesIO(result.zipFile))
    text = archive.read(f"settings/{NAME}.settings").decode()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<ConversationalIntelligenceSettings')
    lines = [line.strip() for line in text.splitlines()[2:-1]]
    assert lines == [f"<{f}>{str(f == 'enableCallCoaching').lower()}</{f}>" for f in FIELDS]
    assert "package.xml" in archive.namelist()


def test_describe_metadata_lists_the_type_as_settings(org: EmulatorHandle) -> None:
    mdapi = org.mdapi()
    described = mdapi._service.describeMetadata(asOfVersion=63.0, _soapheaders=[mdapi._session_header])
    names = {o.xmlName: (o.directoryName, o.suffix) for o in described.metadataObjects}
    assert names["Settings"] == ("settings", "settings")
    assert "ConversationalIntelligenceSettings" not in names
