"""Metadata API retrieve()/checkRetrieveStatus() (Metadata API Developer Guide: "retrieve()",
"RetrieveRequest", "checkRetrieveStatus()", "RetrieveResult"), through simple-salesforce's zeep client wired
in-process, and deploy() of what was retrieved."""

from __future__ import annotations

import base64
import io
import zipfile
from typing import Any

from lxml import etree

from devtools.sf_emulator import metadata_api
from devtools.sf_emulator.store import Org
from tests.support.in_process_mdapi import connected_app

MD = metadata_api.MD_NS


def _call(mdapi: Any, org: Org, operation: str, *args: Any) -> etree._Element:
    node = mdapi._client.create_message(
        mdapi._service, operation, *args, _soapheaders=[mdapi._session_header]
    )
    status, answer = metadata_api.handle(org, bytes(etree.tostring(node)))
    assert status == 200, answer
    result = etree.fromstring(answer).find(f".//{{{MD}}}result")
    assert result is not None
    return result


def _retrieve(mdapi: Any, org: Org, members: dict[str, list[str]], single: bool = False) -> etree._Element:
    package_type = mdapi._client.get_type("ns0:PackageTypeMembers")
    package = mdapi._client.get_type("ns0:Package")(
        types=[package_type(name=t, members=names) for t, names in members.items()], version="63.0"
    )
    request = mdapi._client.get_type("ns0:RetrieveRequest")(
        apiVersion=63.0, singlePackage=single, unpackaged=package
    )
    queued = _call(mdapi, org, "retrieve", request)
    assert (queued.findtext(f"{{{MD}}}state"), queued.findtext(f"{{{MD}}}done")) == ("Queued", "false")
    return _call(mdapi, org, "checkRetrieveStatus", queued.findtext(f"{{{MD}}}id"), True)


def _files(result: etree._Element) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(result.findtext(f"{{{MD}}}zipFile") or "")))
    return {name: archive.read(name) for name in archive.namelist()}


def test_retrieve_zips_package_xml_and_each_component_as_read_metadata_shows_it(
    mdapi: Any, md_org: Org
) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi, consumerSecret="S3CRET-value-1234")])
    result = _retrieve(mdapi, md_org, {"ConnectedApp": ["ECI_Connected_App"]})
    assert (result.findtext(f"{{{MD}}}status"), result.findtext(f"{{{MD}}}success")) == ("Succeeded", "true")
    files = _files(result)
    assert sorted(files) == [
        "unpackaged/connectedApps/ECI_Connected_App.connectedApp",
        "unpackaged/package.xml",
    ]
    app = etree.fromstring(files["unpackaged/connectedApps/ECI_Connected_App.connectedApp"])
    assert app.tag == f"{{{MD}}}ConnectedApp" and app.nsmap == {None: MD}
    assert app.find(f"{{{MD}}}fullName") is None  # the file name carries it
    assert app.findtext(f"{{{MD}}}label") == "ECI Connected App"
    assert [s.text for s in app.iter(f"{{{MD}}}scopes")] == ["Api", "Web", "RefreshToken", "Content"]
    # The consumer secret is write-only for readMetadata, so for retrieve too.
    assert b"S3CRET" not in files["unpackaged/connectedApps/ECI_Connected_App.connectedApp"]
    package = etree.fromstring(files["unpackaged/package.xml"])
    assert [m.text for m in package.iter(f"{{{MD}}}members")] == ["ECI_Connected_App"]
    # package.xml's own entry as in CumulusCI's recorded checkRetrieveStatusResponse (test_Deploy.py,
    # test_collision_check_*): fullName is its file name, id empty.
    (package_entry,) = [
        p for p in result.iter(f"{{{MD}}}fileProperties") if p.findtext(f"{{{MD}}}type") == "Package"
    ]
    assert package_entry.findtext(f"{{{MD}}}fullName") == "unpackaged/package.xml"
    assert package_entry.findtext(f"{{{MD}}}id") == ""
    names = [
        (p.findtext(f"{{{MD}}}fileName"), p.findtext(f"{{{MD}}}type"))
        for p in result.iter(f"{{{MD}}}fileProperties")
    ]
    assert names == [
        ("unpackaged/connectedApps/ECI_Connected_App.connectedApp", "ConnectedApp"),
        ("unpackaged/package.xml", "Package"),
    ]


def test_a_missing_member_is_a_message_not_a_failure(mdapi: Any, md_org: Org) -> None:
    result = _retrieve(mdapi, md_org, {"ConnectedApp": ["Nope"]}, single=True)
    assert result.findtext(f"{{{MD}}}success") == "true"
    assert [
        (m.findtext(f"{{{MD}}}fileName"), m.findtext(f"{{{MD}}}problem"))
        for m in result.iter(f"{{{MD}}}messages")
    ] == [("package.xml", "Entity of type 'ConnectedApp' named 'Nope' cannot be found")]
    assert sorted(_files(result)) == ["package.xml"]


def test_a_wildcard_retrieves_every_component_of_the_type(mdapi: Any, md_org: Org) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi), connected_app(mdapi, name="Second_App")])
    files = _files(_retrieve(mdapi, md_org, {"ConnectedApp": ["*"]}, single=True))
    assert sorted(files) == [
        "connectedApps/ECI_Connected_App.connectedApp",
        "connectedApps/Second_App.connectedApp",
        "package.xml",
    ]


def test_jsforce_names_the_retrieve_parameter_request_and_salesforce_binds_it_by_position(
    mdapi: Any, md_org: Org
) -> None:
    # jsforce lib/api/metadata.js retrieve(): _invoke('retrieve', { request }); the WSDL says retrieveRequest.
    mdapi.ConnectedApp.create([connected_app(mdapi)])
    package_type = mdapi._client.get_type("ns0:PackageTypeMembers")
    package = mdapi._client.get_type("ns0:Package")(
        types=[package_type(name="ConnectedApp", members=["ECI_Connected_App"])], version="63.0"
    )
    request = mdapi._client.get_type("ns0:RetrieveRequest")(
        apiVersion=63.0, singlePackage=True, unpackaged=package
    )
    node = mdapi._client.create_message(
        mdapi._service, "retrieve", request, _soapheaders=[mdapi._session_header]
    )
    body = bytes(etree.tostring(node)).replace(b"ns0:retrieveRequest>", b"ns0:request>")
    assert b"<ns0:request>" in body
    status, answer = metadata_api.handle(md_org, body)
    assert status == 200 and b"<state>Queued</state>" in answer


def test_what_retrieve_gives_deploys_back_unchanged(mdapi: Any, md_org: Org) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi)])
    before = mdapi.ConnectedApp.read(["ECI_Connected_App"])
    zipped = _retrieve(mdapi, md_org, {"ConnectedApp": ["ECI_Connected_App"]}).findtext(f"{{{MD}}}zipFile")
    from zeep.xsd import SkipValue

    options = mdapi._client.get_type("ns0:DeployOptions")(
        allowMissingFiles=False,
        autoUpdatePackage=False,
        checkOnly=False,
        ignoreWarnings=False,
        performRetrieve=False,
        purgeOnDelete=False,
        rollbackOnError=True,
        singlePackage=False,
        testLevel=SkipValue,
    )
    queued = _call(mdapi, md_org, "deploy", base64.b64decode(zipped or ""), options)
    deployed = _call(mdapi, md_org, "checkDeployStatus", queued.findtext(f"{{{MD}}}id"), True)
    assert deployed.findtext(f"{{{MD}}}success") == "true", etree.tostring(deployed)
    after = mdapi.ConnectedApp.read(["ECI_Connected_App"])
    assert after.oauthConfig.consumerKey == before.oauthConfig.consumerKey
    assert (after.label, after.oauthConfig.scopes) == (before.label, before.oauthConfig.scopes)


def test_peek_names_a_retrieves_members_for_fault_injection(mdapi: Any) -> None:
    package_type = mdapi._client.get_type("ns0:PackageTypeMembers")
    package = mdapi._client.get_type("ns0:Package")(
        types=[package_type(name="ConnectedApp", members=["ECI_Connected_App"])], version="63.0"
    )
    request = mdapi._client.get_type("ns0:RetrieveRequest")(
        apiVersion=63.0, singlePackage=True, unpackaged=package
    )
    node = mdapi._client.create_message(
        mdapi._service, "retrieve", request, _soapheaders=[mdapi._session_header]
    )
    call = metadata_api.peek(bytes(etree.tostring(node)))
    assert (call.operation, call.names, call.type_name) == ("retrieve", ["ECI_Connected_App"], "ConnectedApp")
