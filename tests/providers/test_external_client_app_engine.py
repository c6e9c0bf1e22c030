"""The external client app path through the real pulumi CLI, in an org that blocks new connected apps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.artifact_inputs import oauth_chain
from tests.support.emulator import salesforce_ops
from tests.support.resource_program import Stack, changed_ops, resource_outputs


def test_blocked_org_names_the_switch_and_the_external_client_app_path_then_converges(
    org: Any, tmp_path: Path
) -> None:
    org.settings(connected_app_creation_allowed=False)
    stack = Stack(org, tmp_path)
    stack.resources = oauth_chain(org)[:3]
    org.reset_calls()
    failed = stack.up(check=False)
    assert failed.returncode != 0
    text = failed.stdout + failed.stderr
    assert "does not allow creating new connected apps" in text
    assert "pulumi config set eci-aircall:oauthAppKind externalClientApp" in text
    # The auth provider went ahead (it does not depend on the app); the app wrote nothing.
    assert org.calls()["writes_by_operation"] == {"metadata.createMetadata": 1}

    # What the error says to do: the same chain with an external client app.
    stack.resources = oauth_chain(org, "external_client_app.ExternalClientApp", "ExternalClientApp")[:3]
    result = stack.up()
    assert changed_ops(result)["consumer"] == "replace"  # new kind: credentials for the new app
    mdapi = org.mdapi()
    state = stack.export()
    glbl = mdapi.ExtlClntAppGlobalOauthSettings.read("ECI_Connected_App_glbloauth")
    assert glbl.callbackUrl == resource_outputs(state, "auth")["callback_url"]
    assert glbl.consumerKey == mdapi.AuthProvider.read("ECI_Auth_Provider").consumerKey
    assert mdapi.ConnectedApp.read("ECI_Connected_App").fullName is None

    org.reset_calls()
    stack.up(expect_no_changes=True)
    assert salesforce_ops(org.calls()) == {}

    org.reset_calls()
    stack.destroy()
    # four ECA components + the auth provider
    assert org.calls()["writes_by_operation"] == {"metadata.deleteMetadata": 5}
    assert mdapi.ExternalClientApplication.read("ECI_Connected_App").fullName is None
