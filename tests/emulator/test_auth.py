"""Authentication through the real clients: SOAP partner login, OAuth grants, userinfo, session expiry."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests
import zeep.exceptions
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

from devtools.sf_emulator.client import EmulatorHandle
from tests.support.keys import rsa_key_and_certificate
from tests.support.seeds import person_by_hand

CONSUMER_KEY = "3MVG9emulatorTestConsumerKey0000000000000000000000000000000000000000"
CONSUMER_SECRET = "E8D3C9A1B2F40000TESTSECRET"


def _soap_domain(org: EmulatorHandle) -> str:
    # simple-salesforce posts to f"https://{domain}.salesforce.com/services/Soap/u/{version}"; a trailing '#'
    # turns the rest into a URL fragment, which is never sent, so the login lands on the emulator.
    return f"{org.instance_url.removeprefix('https://')}/services/Soap/u/63.0#"


def _oauth_domain(org: EmulatorHandle) -> str:
    return f"{org.instance_url.removeprefix('https://')}/services/oauth2/token#"


def _rsa_pair() -> tuple[str, str]:
    return rsa_key_and_certificate("eci-jwt")


def _connected_app(org: EmulatorHandle, certificate: str | None = None) -> None:
    mdapi = org.mdapi()
    oauth: dict[str, Any] = {"consumerKey": CONSUMER_KEY, "consumerSecret": CONSUMER_SECRET}
    if certificate:
        oauth["certificate"] = certificate
    mdapi.ConnectedApp.create(
        [
            mdapi.ConnectedApp(
                fullName="Auth_Test_App",
                label="Auth Test App",
                contactEmail="admin@example.com",
                oauthConfig=mdapi.ConnectedAppOauthConfig(
                    callbackUrl=f"{org.instance_url}/services/authcallback/X", scopes=["Api"], **oauth
                ),
            )
        ]
    )


def _token(org: EmulatorHandle, **form: str) -> requests.Response:
    return org.session().post(f"{org.instance_url}/services/oauth2/token", data=form)


def test_simple_salesforce_soap_login_with_security_token(org: EmulatorHandle) -> None:
    sf = Salesforce(
        username=org.username,
        password=org.password,
        security_token="",
        domain=_soap_domain(org),
        session=org.session(),
        version="63.0",
    )
    assert sf.sf_instance == org.instance_url.removeprefix("https://")
    assert sf.session_id != org.access_token
    assert sf.query("SELECT Id FROM Organization")["totalSize"] == 1
    assert org.calls()["by_operation"]["auth.soap_login"] == 1


def test_soap_login_with_wrong_password_is_invalid_login(org: EmulatorHandle) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as raised:
        Salesforce(
            username=org.username,
            password="wrong-password",
            security_token="",
            domain=_soap_domain(org),
            session=org.session(),
        )
    assert raised.value.code == "INVALID_LOGIN"
    assert "Invalid username, password, security token; or user locked out." in str(raised.value)


def test_security_token_must_be_appended_once_a_user_has_one(org: EmulatorHandle) -> None:
    admin_id = org.sf().query(f"SELECT Id FROM User WHERE Username = '{org.username}'")["records"][0]["Id"]
    org.control("POST", f"users/{admin_id}/password", {"password": org.password, "security_token": "TOK123"})
    with pytest.raises(SalesforceAuthenticationFailed):
        Salesforce(
            username=org.username,
            password=org.password,
            security_token="",
            domain=_soap_domain(org),
            session=org.session(),
        )
    sf = Salesforce(
        username=org.username,
        password=org.password,
        security_token="TOK123",
        domain=_soap_domain(org),
        session=org.session(),
    )
    assert sf.session_id


def test_oauth_password_grant_with_a_connected_app(org: EmulatorHandle) -> None:
    _connected_app(org)
    sf = Salesforce(
        username=org.username,
        password=org.password,
        consumer_key=CONSUMER_KEY,
        consumer_secret=CONSUMER_SECRET,
        domain=_oauth_domain(org),
        session=org.session(),
    )
    assert sf.query("SELECT Id FROM User")["totalSize"] == 1


def test_oauth_errors_are_salesforce_bodies(org: EmulatorHandle) -> None:
    _connected_app(org)
    base = {"grant_type": "password", "username": org.username, "password": org.password}
    r = _token(org, client_id="unknown", client_secret="x", **base)
    assert (r.status_code, r.json()) == (
        400,
        {"error": "invalid_client_id", "error_description": "client identifier invalid"},
    )
    r = _token(org, client_id=CONSUMER_KEY, client_secret="wrong", **base)
    assert r.json() == {"error": "invalid_client", "error_description": "invalid client credentials"}
    r = _token(org, client_id=CONSUMER_KEY, client_secret=CONSUMER_SECRET, **{**base, "password": "nope"})
    assert r.json() == {"error": "invalid_grant", "error_description": "authentication failure"}
    r = _token(org, grant_type="magic")
    assert r.json()["error"] == "unsupported_grant_type"
    assert CONSUMER_SECRET not in r.text


def test_refresh_token_grant_from_an_sfdx_auth_url(org: EmulatorHandle) -> None:
    url = org.sfdx_auth_url()
    client, _, rest = url.removeprefix("force://").partition(":")
    secret, _, rest = rest.partition(":")
    refresh, _, host = rest.rpartition("@")
    r = _token(org, grant_type="refresh_token", client_id=client, refresh_token=refresh)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["instance_url"] == f"https://{host}" == org.instance_url
    assert org.sf(session_id=body["access_token"]).query("SELECT Id FROM Organization")["totalSize"] == 1
    bad = _token(org, grant_type="refresh_token", client_id=client, refresh_token="5Aep-wrong")
    assert bad.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}


def test_jwt_bearer_grant_verifies_rs256_against_the_apps_certificate(org: EmulatorHandle) -> None:
    private_key, cert = _rsa_pair()
    _connected_app(org, certificate=cert)
    claims = {
        "iss": CONSUMER_KEY,
        "sub": org.username,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
    }
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    r = _token(org, grant_type=grant, assertion=jwt.encode(claims, private_key, algorithm="RS256"))
    assert r.status_code == 200, r.text
    assert org.sf(session_id=r.json()["access_token"]).query("SELECT Id FROM User")["totalSize"] == 1

    other_key, _ = _rsa_pair()
    forged = _token(org, grant_type=grant, assertion=jwt.encode(claims, other_key, algorithm="RS256"))
    assert forged.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}
    wrong_aud = _token(
        org,
        grant_type=grant,
        assertion=jwt.encode({**claims, "aud": "https://example.com"}, private_key, algorithm="RS256"),
    )
    assert wrong_aud.json() == {"error": "invalid_grant", "error_description": "Audience validation failed"}
    unknown_iss = _token(
        org,
        grant_type=grant,
        assertion=jwt.encode({**claims, "iss": "nobody"}, private_key, algorithm="RS256"),
    )
    assert unknown_iss.json()["error"] == "invalid_client_id"


def test_userinfo_describes_the_session_user(org: EmulatorHandle) -> None:
    r = org.session().get(
        f"{org.instance_url}/services/oauth2/userinfo",
        headers={"Authorization": f"Bearer {org.access_token}"},
    )
    assert r.status_code == 200
    assert r.json()["preferred_username"] == org.username
    assert r.json()["organization_id"].startswith("00D")


def test_expired_sessions_get_invalid_session_id_on_every_api(org: EmulatorHandle) -> None:
    sf = org.sf()
    mdapi = org.mdapi()
    org.settings(session_seconds=0)
    with pytest.raises(SalesforceExpiredSession) as raised:
        sf.query("SELECT Id FROM User")
    assert raised.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    with pytest.raises(zeep.exceptions.Fault) as fault:
        mdapi.ConnectedApp.read("Anything")
    assert fault.value.code == "sf:INVALID_SESSION_ID"
    partner = org.session().post(
        f"{org.instance_url}/services/Soap/u/63.0",
        data=(
            '<?xml version="1.0"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Header><urn:SessionHeader>'
            f"<urn:sessionId>{org.access_token}</urn:sessionId></urn:SessionHeader></soapenv:Header>"
            "<soapenv:Body><urn:getUserInfo/></soapenv:Body></soapenv:Envelope>"
        ),
        headers={"Content-Type": "text/xml", "SOAPAction": "getUserInfo"},
    )
    assert partner.status_code == 500 and "<faultcode>sf:INVALID_SESSION_ID</faultcode>" in partner.text
    # A new login gets a working session again once the timeout allows it.
    org.settings(session_seconds=7200)
    assert sf.query("SELECT Id FROM Organization")["totalSize"] == 1


def test_sessions_expire_after_session_seconds_and_simple_salesforce_logs_in_again(
    org: EmulatorHandle,
) -> None:
    org.settings(session_seconds=1)
    fresh = Salesforce(
        username=org.username,
        password=org.password,
        security_token="",
        domain=_soap_domain(org),
        session=org.session(),
    )
    first_session = fresh.session_id
    assert fresh.query("SELECT Id FROM Organization")["totalSize"] == 1
    time.sleep(1.05)
    with pytest.raises(SalesforceExpiredSession):
        org.sf(session_id=first_session).query("SELECT Id FROM Organization")
    # simple-salesforce answers INVALID_SESSION_ID with a new SOAP login and retries the call.
    assert fresh.query("SELECT Id FROM Organization")["totalSize"] == 1
    assert fresh.session_id != first_session
    assert org.calls()["by_operation"]["auth.soap_login"] == 2


def test_activity_after_half_the_timeout_extends_the_session(org: EmulatorHandle) -> None:
    org.settings(session_seconds=2)
    token = _token(
        org, grant_type="refresh_token", client_id="PlatformCLI", refresh_token=org.refresh_token()
    ).json()["access_token"]
    sf = org.sf(session_id=token)
    time.sleep(1.2)
    sf.query("SELECT Id FROM Organization")  # past half the timeout: extends it
    time.sleep(1.2)  # 2.4 s after login, 1.2 s after the last activity
    assert sf.query("SELECT Id FROM Organization")["totalSize"] == 1
    time.sleep(2.05)  # idle for the whole timeout
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Organization")


def test_a_new_user_logs_in_after_set_password_until_deactivated(org: EmulatorHandle) -> None:
    sf = org.sf()
    uid = person_by_hand(org, "login.test@eci-test.example")
    # REST API Developer Guide, "Set Password": POST /sobjects/User/{id}/password {"NewPassword": ...} -> 204.
    r = sf._call_salesforce(
        "POST", f"{sf.base_url}sobjects/User/{uid}/password", json={"NewPassword": "N3w-Passw0rd!"}
    )
    assert r.status_code == 204

    def login() -> Salesforce:
        return Salesforce(
            username="login.test@eci-test.example",
            password="N3w-Passw0rd!",
            security_token="",
            domain=_soap_domain(org),
            session=org.session(),
        )

    assert login().session_id
    sf.User.update(uid, {"IsActive": False})
    with pytest.raises(SalesforceAuthenticationFailed):
        login()
