"""Tooling API executeAnonymous: the named-credential callout probes answered as Salesforce answers them.

Shapes: SOAP API guide "ExecuteAnonymousResult" (line, column, compiled, success, compileProblem,
exceptionStackTrace, exceptionMessage); the texts and their sources are in devtools/sf_emulator/tooling.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from devtools.sf_emulator.client import EmulatorHandle
from providers.health import probe_apex
from tests.support.seeds import auth_provider_by_hand, eci_named_credential_by_hand, person_by_hand

SUCCESS = {
    "line": -1,
    "column": -1,
    "compiled": True,
    "success": True,
    "compileProblem": None,
    "exceptionStackTrace": None,
    "exceptionMessage": None,
}


def execute(org: EmulatorHandle, apex: str) -> Any:
    r = org.session().get(
        f"{org.instance_url}/services/data/v63.0/tooling/executeAnonymous/",
        params={"anonymousBody": apex},
        headers={"Authorization": f"Bearer {org.access_token}"},
    )
    assert r.status_code == 200, r.text
    return r.json()


def aircall_named_credential(org: EmulatorHandle, password: str | None = None) -> None:
    mdapi = org.mdapi()
    mdapi.NamedCredential.create(
        [
            mdapi.NamedCredential(
                fullName="Aircall",
                label="Aircall",
                endpoint=f"{org.instance_url}/aircall/",
                principalType="NamedUser",
                protocol="Password",
                username=org.aircall_api_id,
                password=password or org.aircall_api_token,
                generateAuthorizationHeader=True,
            )
        ]
    )


def test_aircall_probe_succeeds_through_the_stored_password(org: EmulatorHandle) -> None:
    aircall_named_credential(org)
    assert execute(org, probe_apex("Aircall")) == SUCCESS
    calls = org.calls()["by_operation"]
    assert calls["tooling.executeAnonymous"] == 1 and calls.get("aircall.ping") is None


def test_aircall_probe_with_a_disabled_key_fails_its_assert_with_aircalls_answer(org: EmulatorHandle) -> None:
    aircall_named_credential(org, password="disabled-key")
    result = execute(org, probe_apex("Aircall"))
    assert result["compiled"] is True and result["success"] is False
    assert result["exceptionMessage"] == (
        'System.AssertException: Assertion Failed: {"message": "Forbidden"}: Expected: 200, Actual: 403'
    )
    assert result["exceptionStackTrace"] == "AnonymousBlock: line 5, column 1"


def test_eci_probe_needs_the_authorize_step_and_fails_again_after_revoke(org: EmulatorHandle) -> None:
    auth_provider_by_hand(org)
    eci_named_credential_by_hand(org)
    never = execute(org, probe_apex("ECI_Named_Credential"))
    assert never["compiled"] is True and never["success"] is False
    assert never["exceptionMessage"] == "System.CalloutException: Unable to fetch the OAuth token"
    assert never["exceptionStackTrace"] == "AnonymousBlock: line 4, column 1"

    org.authorize_named_credential("ECI_Named_Credential")
    assert execute(org, probe_apex("ECI_Named_Credential")) == SUCCESS

    assert org.control("POST", "named-credentials/ECI_Named_Credential/revoke") == {
        "revoked": "ECI_Named_Credential"
    }
    revoked = execute(org, probe_apex("ECI_Named_Credential"))
    assert revoked["success"] is False
    assert revoked["exceptionMessage"] == (
        "System.CalloutException: Unable to fetch the OAuth token. Error: invalid_grant. Error description: "
        "expired access/refresh token."
    )
    org.authorize_named_credential("ECI_Named_Credential")
    assert execute(org, probe_apex("ECI_Named_Credential")) == SUCCESS


def test_eci_probe_gets_401_from_the_org_when_its_user_was_deactivated(org: EmulatorHandle) -> None:
    auth_provider_by_hand(org)
    eci_named_credential_by_hand(org)
    sf = org.sf()
    user = person_by_hand(org, "eci-probe@demo.example")
    org.authorize_named_credential("ECI_Named_Credential", username="eci-probe@demo.example")
    assert execute(org, probe_apex("ECI_Named_Credential")) == SUCCESS
    sf.User.update(user, {"IsActive": False})
    result = execute(org, probe_apex("ECI_Named_Credential"))
    assert result["exceptionMessage"] == (
        'System.AssertException: Assertion Failed: [{"message":"Session expired or invalid","errorCode":'
        '"INVALID_SESSION_ID"}]: Expected: 200, Actual: 401'
    )


def test_callout_through_a_named_credential_that_does_not_exist(org: EmulatorHandle) -> None:
    result = execute(org, probe_apex("Aircall"))
    assert result["success"] is False
    assert result["exceptionMessage"] == (
        "System.CalloutException: The callout couldn't access the endpoint. You might not have the required "
        'permissions, or the named credential "Aircall" might not exist.'
    )


@pytest.mark.parametrize(
    "apex",
    [
        "System.debug('hello');",
        probe_apex("Aircall").replace("'GET'", "'POST'"),
        probe_apex("Aircall") + "delete [SELECT Id FROM Account];",
    ],
)
def test_any_other_apex_is_a_compile_problem_saying_it_is_not_emulated(
    org: EmulatorHandle, apex: str
) -> None:
    result = execute(org, apex)
    assert result["compiled"] is False and result["success"] is False
    assert (result["line"], result["column"]) == (1, 1)
    assert result["compileProblem"].startswith("Not emulated:")
    assert result["exceptionMessage"] is None


def test_a_user_without_author_apex_is_refused(org: EmulatorHandle) -> None:
    org.settings(author_apex=False)
    r = org.session().get(
        f"{org.instance_url}/services/data/v63.0/tooling/executeAnonymous/",
        params={"anonymousBody": probe_apex("Aircall")},
        headers={"Authorization": f"Bearer {org.access_token}"},
    )
    assert r.status_code == 403
    assert r.json()[0]["errorCode"] == "INSUFFICIENT_ACCESS"


def test_execute_anonymous_needs_a_session_and_counts_as_an_api_call(org: EmulatorHandle) -> None:
    r = org.session().get(
        f"{org.instance_url}/services/data/v63.0/tooling/executeAnonymous/",
        params={"anonymousBody": "System.debug(1);"},
    )
    assert r.status_code == 401 and r.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    execute(org, "System.debug(1);")
    assert org.calls()["total"] == 2
