"""Metadata API deploy()/checkDeployStatus() of the emulated org, through simple-salesforce's own
``sf.deploy``/``sf.checkDeployStatus`` (string-templated SOAP, messages.DEPLOY_MSG) and through zeep.

Metadata API Developer Guide, "deploy()" and "DeployOptions": with ``checkOnly`` the deploy validates the
components and saves nothing; "checkDeployStatus()" / "DeployResult": ``success``, ``status`` and
``details.componentFailures[{problem, problemType, fullName, componentType}]``.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from devtools.sf_emulator.client import EmulatorHandle

MD = "http://soap.sforce.com/2006/04/metadata"

CONNECTED_APP_XML = f"""<?xml version="1.0" encoding="UTF-8"?>
<ConnectedApp xmlns="{MD}">
    <contactEmail>admin@example.com</contactEmail>
    <label>ECI Connected App</label>
    <oauthConfig>
        <callbackUrl>https://127.0.0.1/services/authcallback/ECI_Auth_Provider</callbackUrl>
        <scopes>Api</scopes>
        <scopes>Web</scopes>
    </oauthConfig>
</ConnectedApp>
"""


def _site_xml(username: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<CustomSite xmlns="{MD}">
    <active>true</active>
    <allowHomePage>false</allowHomePage>
    <allowStandardIdeasPages>false</allowStandardIdeasPages>
    <allowStandardLookups>false</allowStandardLookups>
    <allowStandardPortalPages>false</allowStandardPortalPages>
    <allowStandardSearch>false</allowStandardSearch>
    <browserXssProtection>true</browserXssProtection>
    <clickjackProtectionLevel>SameOriginOnly</clickjackProtectionLevel>
    <contentSniffingProtection>true</contentSniffingProtection>
    <indexPage>SiteLogin</indexPage>
    <masterLabel>VoiceConnector</masterLabel>
    <referrerPolicyOriginWhenCrossOrigin>true</referrerPolicyOriginWhenCrossOrigin>
    <siteAdmin>{username}</siteAdmin>
    <siteGuestRecordDefaultOwner>{username}</siteGuestRecordDefaultOwner>
    <siteType>Visualforce</siteType>
</CustomSite>
"""


def _zip(components: dict[tuple[str, str], tuple[str, str]]) -> bytes:
    """{(type, fullName): (path in zip, content)} -> a singlePackage zip with its package.xml."""
    types: dict[str, list[str]] = {}
    for type_name, full_name in components:
        types.setdefault(type_name, []).append(full_name)
    body = "".join(
        "<types>" + "".join(f"<members>{m}</members>" for m in members) + f"<name>{t}</name></types>"
        for t, members in types.items()
    )
    package = (
        f'<?xml version="1.0" encoding="UTF-8"?><Package xmlns="{MD}">{body}<version>63.0</version></Package>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("package.xml", package)
        for path, content in components.values():
            archive.writestr(path, content)
    return buffer.getvalue()


def _app_zip() -> bytes:
    return _zip(
        {
            ("ConnectedApp", "ECI_Connected_App"): (
                "connectedApps/ECI_Connected_App.connectedApp",
                CONNECTED_APP_XML,
            )
        }
    )


def _validate(org: EmulatorHandle, payload: bytes) -> dict[str, Any]:
    sf = org.sf()
    started = sf.deploy(io.BytesIO(payload), sandbox=False, checkOnly=True)
    assert started["asyncId"] and started["state"] == "Queued"
    return dict(sf.checkDeployStatus(started["asyncId"]))


def _app_exists(org: EmulatorHandle) -> bool:
    rows = org.sf().query("SELECT Id FROM ConnectedApplication WHERE Name = 'ECI Connected App'")["records"]
    return bool(rows)


def test_valid_check_only_deploy_succeeds_and_writes_nothing(org: EmulatorHandle) -> None:
    org.reset_calls()
    status = _validate(org, _app_zip())
    assert status["state"] == "Succeeded", status
    assert status["deployment_detail"]["errors"] == []
    assert status["deployment_detail"]["total_count"] == "1"
    calls = org.calls()
    assert calls["by_operation"]["metadata.deploy"] == 1
    assert calls["by_operation"]["metadata.checkDeployStatus"] == 1
    assert calls["writes"] == 0, calls["writes_by_operation"]
    assert not _app_exists(org)
    assert org.mdapi().ConnectedApp.read(["ECI_Connected_App"]).fullName is None


def test_check_only_connected_app_in_a_blocked_org_fails_like_create(org: EmulatorHandle) -> None:
    org.settings(connected_app_creation_allowed=False)
    status = _validate(org, _app_zip())
    mdapi = org.mdapi()
    with pytest.raises(Exception) as refused:
        mdapi.ConnectedApp.create(
            [
                mdapi.ConnectedApp(
                    fullName="ECI_Connected_App",
                    label="ECI Connected App",
                    contactEmail="admin@example.com",
                    oauthConfig=mdapi.ConnectedAppOauthConfig(
                        callbackUrl="https://127.0.0.1/services/authcallback/ECI_Auth_Provider",
                        scopes=["Api"],
                    ),
                )
            ]
        )
    assert status["state"] == "Failed"
    [error] = status["deployment_detail"]["errors"]
    assert (error["type"], error["file"], error["status"]) == (
        "ConnectedApp",
        "connectedApps/ECI_Connected_App.connectedApp",
        "Error",
    )
    # simple-salesforce raises the createMetadata SaveResult as "(statusCode, message)".
    assert f", {error['message']})" in str(refused.value)
    assert "Creation of connected apps is disabled" in error["message"]


def test_check_only_site_without_a_registered_site_domain_fails_like_create(org: EmulatorHandle) -> None:
    org.settings(site_domain_registered=False)
    org.reset_calls()
    payload = _zip({("CustomSite", "VoiceConnector"): ("sites/VoiceConnector.site", _site_xml(org.username))})
    status = _validate(org, payload)
    assert status["state"] == "Failed"
    [error] = status["deployment_detail"]["errors"]
    assert error["type"] == "CustomSite"
    assert error["message"] == "You must register your Salesforce Sites domain before you can create a site."
    assert org.calls()["writes"] == 0


def test_existing_connected_app_in_a_blocked_org_validates_because_updates_are_allowed(
    org: EmulatorHandle,
) -> None:
    sf = org.sf()
    deployed = sf.deploy(io.BytesIO(_app_zip()), sandbox=False, checkOnly=False)
    assert sf.checkDeployStatus(deployed["asyncId"])["state"] == "Succeeded"
    assert _app_exists(org)
    org.settings(connected_app_creation_allowed=False)
    org.reset_calls()
    status = _validate(org, _app_zip())
    assert status["state"] == "Succeeded", status
    assert org.calls()["writes"] == 0


def test_one_failing_component_fails_the_whole_validation_and_names_only_itself(org: EmulatorHandle) -> None:
    org.settings(site_domain_registered=False)
    payload = _zip(
        {
            ("ConnectedApp", "ECI_Connected_App"): (
                "connectedApps/ECI_Connected_App.connectedApp",
                CONNECTED_APP_XML,
            ),
            ("CustomSite", "VoiceConnector"): ("sites/VoiceConnector.site", _site_xml(org.username)),
        }
    )
    status = _validate(org, payload)
    assert status["state"] == "Failed"
    assert [e["type"] for e in status["deployment_detail"]["errors"]] == ["CustomSite"]
    assert status["deployment_detail"]["total_count"] == "2"


def test_a_component_file_with_an_unknown_element_is_that_components_failure(org: EmulatorHandle) -> None:
    bad = CONNECTED_APP_XML.replace("<label>", "<colour>blue</colour><label>")
    payload = _zip(
        {("ConnectedApp", "ECI_Connected_App"): ("connectedApps/ECI_Connected_App.connectedApp", bad)}
    )
    status = _validate(org, payload)
    [error] = status["deployment_detail"]["errors"]
    assert "colour" in error["message"] and "invalid at this location" in error["message"]


def test_a_package_member_without_its_file_fails(org: EmulatorHandle) -> None:
    payload = _zip(
        {("ConnectedApp", "ECI_Connected_App"): ("connectedApps/Other.connectedApp", CONNECTED_APP_XML)}
    )
    [error] = _validate(org, payload)["deployment_detail"]["errors"]
    assert "was named in package.xml, but was not found in zipped directory" in error["message"]


def test_zeep_client_deploy_with_real_booleans_validates_too(org: EmulatorHandle) -> None:
    """The provider's path: zeep renders ZipFile as base64Binary and xsd booleans ('true')."""
    from zeep.xsd import SkipValue

    mdapi = org.mdapi()
    service = mdapi._service
    options = mdapi._client.get_type("ns0:DeployOptions")(
        allowMissingFiles=False,
        autoUpdatePackage=False,
        checkOnly=True,
        ignoreWarnings=False,
        performRetrieve=False,
        purgeOnDelete=False,
        rollbackOnError=True,
        singlePackage=True,
        testLevel=SkipValue,
    )
    started = service.deploy(ZipFile=_app_zip(), DeployOptions=options, _soapheaders=[mdapi._session_header])
    response = service.checkDeployStatus(
        asyncProcessId=started.id, includeDetails=True, _soapheaders=[mdapi._session_header]
    )
    # The WSDL declares a DebuggingInfo output header for checkDeployStatus (not for deploy), so zeep answers
    # {header, body} there instead of unwrapping the result.
    result = response.body.result
    assert (result.success, result.status, result.checkOnly) == (True, "Succeeded", True)
    # package.xml first, then the component, as Salesforce reports them (CLI fixture baseDeployResponse).
    assert [m.fullName for m in result.details.componentSuccesses] == ["package.xml", "ECI_Connected_App"]
    assert result.details.componentSuccesses[1].id and result.details.runTestResult.numTestsRun == 0
    assert not _app_exists(org)


def test_unknown_async_id_is_a_fault(org: EmulatorHandle) -> None:
    with pytest.raises(Exception, match="INVALID_ID_FIELD"):
        org.sf().checkDeployStatus("0Af000000000000")


def test_a_deploy_reports_in_progress_until_the_configured_checks_have_passed(org: EmulatorHandle) -> None:
    org.settings(deploy_checks_in_progress=2)
    sf = org.sf()
    started = sf.deploy(io.BytesIO(_app_zip()), sandbox=False, checkOnly=True)
    states = [sf.checkDeployStatus(started["asyncId"])["state"] for _ in range(3)]
    assert states == ["InProgress", "InProgress", "Succeeded"]
