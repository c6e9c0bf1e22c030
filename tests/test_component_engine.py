"""The program end to end: `__main__.py` through the real pulumi CLI against the org emulator."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devtools.pulumi_cli.api import run, stack_export
from devtools.sf_emulator.client import EmulatorHandle
from tests.support import REPO
from tests.support.component_graph import EXPECTED_CREATE_GRAPH
from tests.support.demo_stack import NS, STACK, USERNAME, engine, stack_config
from tests.support.seeds import consumer_credentials


@dataclass
class Deployed:
    org: EmulatorHandle
    state: Path
    up: Any


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """One `up` of the demo stack on an org of its own, shared by the tests that only look at the result
    (none of them changes the org or the state)."""
    org = EmulatorHandle(tmp_path_factory.mktemp("component-org"))
    try:
        state = tmp_path_factory.mktemp("component-state")
        yield Deployed(org, state, engine("up", org, state))
    finally:
        org.stop()


def test_after_one_up_the_connected_app_calls_back_to_the_auth_provider_and_preview_is_clean(
    deployed: Deployed,
) -> None:
    org = deployed.org
    callback = deployed.up.outputs["callbackUrl"]
    # Salesforce: an auth provider's callback URL is {My Domain}/services/authcallback/{URL suffix}
    # (Help: "Configure a Salesforce Authentication Provider"); the emulator's My Domain is its instance URL.
    assert callback == f"{org.instance_url}/services/authcallback/ECI_Auth_Provider"
    app: Any = org.mdapi().ConnectedApp.read(["ECI_Connected_App"])
    assert app.oauthConfig.callbackUrl == callback

    again = engine("preview", org, deployed.state, expect_no_changes=True)
    assert again.returncode == 0
    changes = again.changes
    assert changes["same"] > 0
    assert {op: n for op, n in changes.items() if op != "same" and n} == {}


def test_state_records_only_true_dependencies(deployed: Deployed) -> None:
    resources = stack_export(stack=STACK, cwd=REPO, state_dir=deployed.state)["deployment"]["resources"]
    name_of = {r["urn"]: r["urn"].rsplit("::", 1)[-1].removeprefix("eci-aircall-") for r in resources}
    children = [r for r in resources if r.get("parent") and "EciAircallIntegration" in r["parent"]]
    graph = {}
    for r in children:
        urns = set(r.get("dependencies") or [])
        for extra in (r.get("propertyDependencies") or {}).values():
            urns |= set(extra)
        graph[name_of[r["urn"]]] = {
            name_of[u] for u in urns if u in name_of and name_of[u] in EXPECTED_CREATE_GRAPH
        }
    assert graph == EXPECTED_CREATE_GRAPH


@pytest.mark.parametrize("verb", ["preview", "up"])
def test_a_no_op_costs_no_salesforce_call(deployed: Deployed, verb: str) -> None:
    """Issue 8's goal: nothing changed → 0 API calls, login included."""
    deployed.org.reset_calls()
    engine(verb, deployed.org, deployed.state, expect_no_changes=True)
    assert deployed.org.calls()["total"] == 0


def test_next_manual_step_points_at_the_named_credentials_setup_page(deployed: Deployed) -> None:
    org = deployed.org
    step = deployed.up.outputs["nextManualStep"]
    nc_id = org.sf().query("SELECT Id FROM NamedCredential WHERE DeveloperName = 'ECI_Named_Credential'")
    assert step["url"].startswith(org.instance_url + "/lightning/setup/NamedCredential/")
    assert nc_id["records"][0]["Id"] in step["url"]
    # No API tells a legacy named credential's authentication status; its probe (a callout through it from
    # inside the org) measures it: a new credential has no token yet.
    assert step["authenticated"] is False and step["status"] == "NotAuthenticated"
    assert "Authorize" in step["instructions"]
    # Step by step, as a person does it: a password for the user (none was asked for: how to get one), log in
    # as it at the org's My Domain, authorize at the url, check.
    assert step["steps"][0].startswith(f"1. Give {USERNAME} a password: Setup > Users > {USERNAME} > Reset")
    assert "integrationUser.sendPasswordReset true" in step["steps"][0]
    assert step["steps"][1] == f"2. In a private browser window, log in at {org.instance_url}/ as {USERNAME}."
    assert step["steps"][2].startswith(f"3. Open {step['url']}, click Edit")
    assert len(step["steps"]) == 4
    assert deployed.up.outputs["health"] == {
        "aircall": "ok",
        "eciOAuth": "callout failed: System.CalloutException: Unable to fetch the OAuth token",
    }


def test_generated_consumer_secret_stays_out_of_state_and_output(deployed: Deployed) -> None:
    """The consumer secret travels OAuthConsumer → AuthProvider → ConnectedApp; it must stay encrypted."""
    org, state, up = deployed.org, deployed.state, deployed.up
    preview = engine("preview", org, state)
    secret = consumer_credentials(org)["secret"]
    assert len(secret) >= 16
    exported = json.dumps(stack_export(stack=STACK, cwd=REPO, state_dir=state))
    state_files = "".join(p.read_text() for p in (state / ".pulumi").rglob("*.json"))
    for text in (up.stdout, up.stderr, preview.stdout, preview.stderr, exported, state_files):
        assert secret not in text
        assert base64.b64encode(secret.encode()).decode() not in text
    assert up.outputs["oauthConsumerKey"] == "[secret]"


def test_missing_config_fails_before_any_salesforce_call(org: EmulatorHandle, tmp_path: Path) -> None:
    config, secrets = stack_config(org)
    del secrets[f"{NS}:aircallApiToken"]
    config[f"{NS}:contactEmail"] = "not-an-email"
    org.reset_calls()
    result = run(
        "preview", stack=STACK, cwd=REPO, state_dir=tmp_path, config=config, secrets=secrets, check=False
    )
    assert result.returncode != 0
    text = result.stdout + result.stderr
    assert "eci-aircall:aircallApiToken is not set" in text
    assert "pulumi config set --secret eci-aircall:aircallApiToken" in text
    assert "eci-aircall:contactEmail is not an email address" in text
    assert "Traceback" not in text
    assert org.access_token not in text
    assert org.calls()["total"] == 0


def test_health_is_measured_by_refresh_and_shown_by_the_next_up_without_alarming_refresh(
    org: EmulatorHandle, tmp_path: Path
) -> None:
    """The manual step done, then undone (token revoked): each is measured by `refresh` and shown by the next
    `up`, and no refresh reports it as a change (it would store it as its baseline and be clean from the next
    run: the level alarm is tools/status.py, tests/test_status.py); a refresh stays within budget."""
    up = engine("up", org, tmp_path)
    # The resources that can call Salesforce: the stack and the component never do.
    resources = sum(1 for s in up.data["steps"] if s["type"].startswith("pulumi-python:dynamic/"))
    assert up.outputs["nextManualStep"]["authenticated"] is False

    org.reset_calls()
    clean = engine("refresh", org, tmp_path, expect_no_changes=True)
    assert clean.returncode == 0
    calls = org.calls()
    # Budget (issue 15): at most one call per resource plus one per probe (2 probes). The identities of the
    # five Metadata components (readMetadata gives none) come from 2 listMetadata calls, not 5
    # (the listing_group each Metadata provider declares).
    assert calls["by_operation"]["tooling.executeAnonymous"] == 2
    assert calls["by_operation"]["metadata.listMetadata"] == 2
    # The two users (integration, guest) one query each, and their four permission set assignments one
    # query per assignee (the client keeps the answer for the assignee's other assignment).
    assert calls["by_operation"]["rest.query"] == 4
    assert calls["total"] <= resources + 2

    org.authorize_named_credential("ECI_Named_Credential", username=USERNAME)
    assert engine("refresh", org, tmp_path, expect_no_changes=True).returncode == 0
    # Stack outputs are the program's: a refresh does not run it, the next `up` (changing no resource) does.
    # (The CLI's preview --json carries no stack outputs.)
    org.reset_calls()
    outputs = engine("up", org, tmp_path, expect_no_changes=True).outputs
    assert org.calls()["total"] == 0
    assert outputs["health"] == {"aircall": "ok", "eciOAuth": "ok"}
    assert outputs["nextManualStep"] == {"authenticated": True, "status": "Authenticated", "health": "ok"}

    org.revoke_named_credential("ECI_Named_Credential")
    assert engine("refresh", org, tmp_path, expect_no_changes=True).returncode == 0
    after = engine("up", org, tmp_path).outputs
    assert after["health"]["eciOAuth"].startswith("callout failed: System.CalloutException: Unable to fetch")
    assert after["nextManualStep"]["authenticated"] is False


def test_health_checks_off_runs_no_probe(org: EmulatorHandle, tmp_path: Path) -> None:
    up = engine("up", org, tmp_path, overrides={"healthChecks": "false"})
    assert up.outputs["health"] == {
        "aircall": "not checked (eci-aircall:healthChecks is false)",
        "eciOAuth": "not checked (eci-aircall:healthChecks is false)",
    }
    assert up.outputs["nextManualStep"]["authenticated"] is None
    engine("refresh", org, tmp_path, overrides={"healthChecks": "false"})
    assert "tooling.executeAnonymous" not in org.calls()["by_operation"]


def test_a_misspelt_key_stops_preview_naming_the_key_it_meant(org: EmulatorHandle, tmp_path: Path) -> None:
    """Issue 23: `eci-aircall:sharedECI` changed nothing, silently. Under the real CLI the program sees the
    whole namespace, so the typo is one problem of the config check, before any Salesforce call."""
    config, secrets = stack_config(org)
    config[f"{NS}:sharedECI"] = "skip"
    org.reset_calls()
    result = run(
        "preview", stack=STACK, cwd=REPO, state_dir=tmp_path, config=config, secrets=secrets, check=False
    )
    assert result.returncode != 0
    assert f"{NS}:sharedECI is not a setting of this program: did you mean {NS}:sharedEci?" in result.text
    assert "Traceback" not in result.text
    assert org.calls()["total"] == 0
