"""REST resources real orgs have and clients use: identity URL, token revoke and SOAP logout, sObject
Collections, and the plain 404 for what is not emulated."""

from __future__ import annotations

from typing import Any

import requests

from devtools.sf_emulator.client import EmulatorHandle

V = "/services/data/v63.0"
LOGIN = (
    '<?xml version="1.0" encoding="UTF-8"?><se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/">'
    '<se:Body><login xmlns="urn:partner.soap.sforce.com"><username>{u}</username><password>{p}</password>'
    "</login></se:Body></se:Envelope>"
)
LOGOUT = (
    '<?xml version="1.0" encoding="UTF-8"?><se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/">'
    '<se:Header><SessionHeader xmlns="urn:partner.soap.sforce.com"><sessionId>{sid}</sessionId>'
    "</SessionHeader></se:Header>"
    '<se:Body><logout xmlns="urn:partner.soap.sforce.com"/></se:Body></se:Envelope>'
)


def _http(org: EmulatorHandle, token: str | None = None) -> requests.Session:
    s = org.session()
    s.headers["Authorization"] = f"Bearer {token or org.access_token}"
    return s


def _soap_session(org: EmulatorHandle) -> str:
    r = org.session().post(
        f"{org.instance_url}/services/Soap/u/63.0",
        data=LOGIN.format(u=org.username, p=org.password),
        headers={"Content-Type": "text/xml", "SOAPAction": "login"},
    )
    assert r.status_code == 200
    return r.text.split("<sessionId>")[1].split("</sessionId>")[0]


def test_resources_list_the_session_users_identity_url_which_answers_who_it_is(org: EmulatorHandle) -> None:
    http = _http(org)
    identity = http.get(f"{org.instance_url}{V}").json()["identity"]
    me = http.get(identity)
    assert me.status_code == 200
    body = me.json()
    assert body["username"] == org.username and body["active"] is True
    assert body["urls"]["rest"] == f"{org.instance_url}{V.replace('63.0', '{version}')}/"
    assert identity.endswith(f"/id/{body['organization_id']}/{body['user_id']}")
    other = identity.rsplit("/", 1)[0] + "/005000000000000AAA"
    assert (http.get(other).status_code, http.get(other).json()) == (403, "Bad_Id")


def test_revoked_access_token_ends_the_session(org: EmulatorHandle) -> None:
    sid = _soap_session(org)
    assert _http(org, sid).get(f"{org.instance_url}{V}/limits").status_code == 200
    revoked = org.session().post(f"{org.instance_url}/services/oauth2/revoke", data={"token": sid})
    assert (revoked.status_code, revoked.content) == (200, b"")
    after = _http(org, sid).get(f"{org.instance_url}{V}/limits")
    assert after.status_code == 401 and after.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    again = org.session().post(f"{org.instance_url}/services/oauth2/revoke", data={"token": sid})
    assert (again.status_code, again.json()) == (
        400,
        {"error": "unsupported_token_type", "error_description": "this token type is not supported"},
    )


def test_revoking_a_refresh_token_ends_the_sessions_issued_from_it(org: EmulatorHandle) -> None:
    # Salesforce Help, "Revoke OAuth Tokens": revoking a refresh token revokes its access tokens too.
    refresh = org.refresh_token()
    issued = org.session().post(
        f"{org.instance_url}/services/oauth2/token",
        data={"grant_type": "refresh_token", "client_id": "PlatformCLI", "refresh_token": refresh},
    )
    access = issued.json()["access_token"]
    assert _http(org, access).get(f"{org.instance_url}{V}/limits").status_code == 200
    revoked = org.session().post(f"{org.instance_url}/services/oauth2/revoke", data={"token": refresh})
    assert revoked.status_code == 200
    assert _http(org, access).get(f"{org.instance_url}{V}/limits").status_code == 401
    again = org.session().post(
        f"{org.instance_url}/services/oauth2/token",
        data={"grant_type": "refresh_token", "client_id": "PlatformCLI", "refresh_token": refresh},
    )
    assert again.json()["error"] == "invalid_grant"


def test_soap_logout_ends_the_session(org: EmulatorHandle) -> None:
    sid = _soap_session(org)
    r = org.session().post(
        f"{org.instance_url}/services/Soap/u/63.0",
        data=LOGOUT.format(sid=sid),
        headers={"Content-Type": "text/xml", "SOAPAction": "logout"},
    )
    assert r.status_code == 200 and "<logoutResponse/>" in r.text
    assert _http(org, sid).get(f"{org.instance_url}{V}/limits").status_code == 401


def _permission_set(name: str, **extra: Any) -> dict[str, Any]:
    return {"attributes": {"type": "PermissionSet"}, "Name": name, "Label": name, **extra}


def test_collections_create_each_record_and_report_each_failure(org: EmulatorHandle) -> None:
    http = _http(org)
    records = [_permission_set("Coll_A"), {"attributes": {"type": "PermissionSet"}, "Name": "Coll_B"}]
    r = http.post(f"{org.instance_url}{V}/composite/sobjects", json={"allOrNone": False, "records": records})
    assert r.status_code == 200
    first, second = r.json()
    assert first["success"] is True and first["id"].startswith("0PS") and first["errors"] == []
    assert second["success"] is False and second["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    names = org.sf().query("SELECT Name FROM PermissionSet WHERE Name LIKE 'Coll_%'")["records"]
    assert [n["Name"] for n in names] == ["Coll_A"]


def test_collections_all_or_none_rolls_every_record_back(org: EmulatorHandle) -> None:
    http = _http(org)
    records = [_permission_set("Coll_C"), _permission_set("Coll_D", Nope=1)]
    r = http.post(f"{org.instance_url}{V}/composite/sobjects", json={"allOrNone": True, "records": records})
    first, second = r.json()
    assert first["success"] is False and first["id"] is None
    assert first["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert second["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert org.sf().query("SELECT Id FROM PermissionSet WHERE Name LIKE 'Coll_%'")["totalSize"] == 0


def test_collections_update_and_delete(org: EmulatorHandle) -> None:
    http = _http(org)
    url = f"{org.instance_url}{V}/composite/sobjects"
    created = http.post(url, json={"records": [_permission_set("Coll_E"), _permission_set("Coll_F")]}).json()
    ids = [c["id"] for c in created]
    updated = http.patch(
        url, json={"records": [{"attributes": {"type": "PermissionSet"}, "Id": ids[0], "Label": "Changed"}]}
    ).json()
    assert updated == [{"id": ids[0], "success": True, "errors": []}]
    assert org.sf().PermissionSet.get(ids[0])["Label"] == "Changed"
    deleted = http.delete(url, params={"ids": ",".join(ids), "allOrNone": "true"}).json()
    assert [d["success"] for d in deleted] == [True, True]
    assert org.sf().query("SELECT Id FROM PermissionSet WHERE Name LIKE 'Coll_%'")["totalSize"] == 0


def test_a_resource_the_emulator_does_not_serve_is_a_plain_404(org: EmulatorHandle) -> None:
    r = _http(org).get(f"{org.instance_url}{V}/analytics/reports")
    assert (r.status_code, r.json()) == (
        404,
        [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
    )
