"""Connect REST OAuth Credentials / OAuth Usage resources (connect.py), after real Metadata API calls."""

from __future__ import annotations

from typing import Any

from devtools.sf_emulator import connect
from devtools.sf_emulator.store import Org
from tests.support.in_process_mdapi import connected_app

BASE = "/services/data/v63.0/apps/oauth"


def _app_id(org: Org, type_name: str, name: str) -> str:
    record = org.metadata_get(type_name, name)
    assert record is not None
    return str(record["_id"])


def _consumer(org: Org, app_id: str) -> dict[str, Any]:
    status, body = connect.handle(org, "GET", f"{BASE}/credentials/{app_id}", {})
    assert status == 200
    assert len(body["consumers"]) == 1
    return dict(body["consumers"][0])


def test_keyandsecret_returns_the_connected_app_key_and_secret(mdapi: Any, md_org: Org) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi, consumerKey="3MVG9.k", consumerSecret="the-secret")])
    app_id = _app_id(md_org, "ConnectedApp", "ECI_Connected_App")
    consumer = _consumer(md_org, app_id)
    status, body = connect.handle(
        md_org, "GET", f"{BASE}/credentials/{app_id}/{consumer['id']}", {"part": "keyandsecret"}
    )
    assert status == 200
    assert (body["key"], body["secret"], body["id"]) == ("3MVG9.k", "the-secret", consumer["id"])
    assert body["url"] == f"{BASE}/credentials/{app_id}/{consumer['id']}"


def test_the_secret_is_returned_only_when_asked_for(mdapi: Any, md_org: Org) -> None:
    # Connect REST guide, "OAuth Credentials by Consumer ID": part defaults to key; secret only on request.
    mdapi.ConnectedApp.create([connected_app(mdapi, consumerKey="3MVG9.k", consumerSecret="the-secret")])
    app_id = _app_id(md_org, "ConnectedApp", "ECI_Connected_App")
    consumer = _consumer(md_org, app_id)
    assert "secret" not in consumer
    path = f"{BASE}/credentials/{app_id}/{consumer['id']}"
    for query, expected in (({}, {"key"}), ({"part": "key"}, {"key"}), ({"part": "secret"}, {"secret"})):
        status, body = connect.handle(md_org, "GET", path, query)
        assert status == 200 and {"key", "secret"} & set(body) == expected


def test_invalid_part_is_a_400_and_unknown_ids_are_404(mdapi: Any, md_org: Org) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi)])
    app_id = _app_id(md_org, "ConnectedApp", "ECI_Connected_App")
    consumer = _consumer(md_org, app_id)
    status, body = connect.handle(
        md_org, "GET", f"{BASE}/credentials/{app_id}/{consumer['id']}", {"part": "all"}
    )
    assert status == 400 and body[0]["errorCode"] == "INVALID_PARAMETER_VALUE"
    status, body = connect.handle(md_org, "GET", f"{BASE}/credentials/0H48d0000000ZZZZZZ", {})
    assert status == 404 and body == [
        {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
    ]
    status, _ = connect.handle(md_org, "GET", f"{BASE}/credentials/{app_id}/0Oy8d0000000ZZZZZZ", {})
    assert status == 404


def test_only_get_is_allowed(mdapi: Any, md_org: Org) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi)])
    app_id = _app_id(md_org, "ConnectedApp", "ECI_Connected_App")
    status, body = connect.handle(md_org, "POST", f"{BASE}/credentials/{app_id}", {})
    assert status == 405 and body[0]["errorCode"] == "METHOD_NOT_ALLOWED"


def test_fifteen_character_ids_name_the_same_app(mdapi: Any, md_org: Org) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi)])
    app_id = _app_id(md_org, "ConnectedApp", "ECI_Connected_App")
    consumer = _consumer(md_org, app_id)
    status, body = connect.handle(
        md_org, "GET", f"{BASE}/credentials/{app_id[:15]}/{consumer['id'][:15]}", {}
    )
    assert status == 200 and body["id"] == consumer["id"]


def test_connected_app_id_is_its_connected_application_sobject_id(mdapi: Any, md_org: Org) -> None:
    # A client finds the app id with SOQL: SELECT Id FROM ConnectedApplication WHERE Name = '<label>'.
    mdapi.ConnectedApp.create([connected_app(mdapi)])
    row = md_org.sobject_find("ConnectedApplication", Name="ECI Connected App")[0]
    status, body = connect.handle(md_org, "GET", f"{BASE}/credentials/{row['Id']}", {})
    assert status == 200 and len(body["consumers"]) == 1


def test_external_client_app_credentials_and_usage_listing(mdapi: Any, md_org: Org) -> None:
    mdapi.ExternalClientApplication.create(
        [mdapi.ExternalClientApplication(fullName="ECI_Eca", label="ECI Eca", distributionState="Local")]
    )
    mdapi.ExtlClntAppGlobalOauthSettings.create(
        [
            mdapi.ExtlClntAppGlobalOauthSettings(
                fullName="ECI_Eca_glbloauth",
                externalClientApplication="ECI_Eca",
                callbackUrl="https://x/cb",
                consumerKey="3MVG9.eca",
                consumerSecret="eca-secret",
            )
        ]
    )
    mdapi.ConnectedApp.create([connected_app(mdapi)])
    status, usage = connect.handle(md_org, "GET", f"{BASE}/usage", {})
    assert status == 200
    apps = {a["developerName"]: a for a in usage["apps"]}
    assert (apps["ECI_Eca"]["appType"], apps["ECI_Connected_App"]["appType"]) == (
        "ExternalClientApp",
        "ConnectedApp",
    )
    eca_id = apps["ECI_Eca"]["identifier"]
    consumer = _consumer(md_org, eca_id)
    status, body = connect.handle(
        md_org, "GET", f"{BASE}/credentials/{eca_id}/{consumer['id']}", {"part": "keyandsecret"}
    )
    assert (status, body["key"], body["secret"]) == (200, "3MVG9.eca", "eca-secret")


def test_app_without_oauth_has_no_consumers(mdapi: Any, md_org: Org) -> None:
    mdapi.ExternalClientApplication.create(
        [mdapi.ExternalClientApplication(fullName="Bare", label="Bare", distributionState="Local")]
    )
    status, body = connect.handle(
        md_org, "GET", f"{BASE}/credentials/{_app_id(md_org, 'ExternalClientApplication', 'Bare')}", {}
    )
    assert (status, body) == (200, {"consumers": []})


def test_there_is_no_bare_credentials_listing_apps_are_listed_by_usage(md_org: Org) -> None:
    # The Connect REST guide lists only /apps/oauth/credentials/{app} and .../{app}/{consumer};
    # /apps/oauth/usage is the resource that lists apps.
    assert connect.handle(md_org, "GET", f"{BASE}/credentials", {})[0] == 404
    assert connect.handle(md_org, "GET", f"{BASE}/usage", {}) == (200, {"apps": []})
