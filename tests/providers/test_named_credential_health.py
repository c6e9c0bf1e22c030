"""Named credential health: the callout probe from inside the org, its classified answers, and when it is
measured under the real engine's rules: by create, every update and every refresh, kept in the outputs
only, so no refresh reports it as a change (the alarm is tools/status.py, which reads it live).

The engine model here follows pulumi/pulumi pkg/resource/deploy/step.go: `up` calls check(olds = the inputs
in state, news = the program's) then diff(olds = the outputs in state, news = the checked inputs); `refresh`
calls read, stores the inputs read returned, and reports a change when diff(olds = the refreshed outputs,
news = the inputs in state before the refresh) finds one (RefreshStep.Apply / ResultOp).
"""

from __future__ import annotations

from typing import Any

import pytest

from providers import health
from providers.named_credential import NamedCredentialProvider
from tests.support.artifact_inputs import eci
from tests.support.driver import configured
from tests.support.seeds import auth_provider_by_hand

EXECUTE = "tooling.executeAnonymous"


class Engine:
    """One resource's state as the engine keeps it: id, inputs, outputs."""

    def __init__(self, provider: NamedCredentialProvider) -> None:
        self.provider = provider
        self.id = ""
        self.inputs: dict[str, Any] = {}
        self.outs: dict[str, Any] = {}

    def check(self, program: dict[str, Any]) -> dict[str, Any]:
        result = self.provider.check(self.inputs, {"__provider": "p", **program})
        assert not result.failures, [(f.property, f.reason) for f in result.failures]
        return dict(result.inputs)

    def up(self, program: dict[str, Any]) -> str:
        """The step `up` takes: create, same or update."""
        news = self.check(program)
        if not self.id:
            created = self.provider.create(news)
            self.id, self.inputs, self.outs = created.id, news, dict(created.outs or {})
            return "create"
        if not self.provider.diff(self.id, self.outs, news).changes:
            self.inputs = news
            return "same"
        self.outs = dict(self.provider.update(self.id, self.outs, news).outs or {})
        self.inputs = news
        return "update"

    def refresh(self) -> bool:
        """Whether `pulumi refresh` reports this resource as changed."""
        result = self.provider.read(self.id, {"__provider": "p", **self.outs})
        old_inputs = self.inputs
        self.outs, self.inputs = dict(result.outs or {}), dict(result.inputs or old_inputs)
        return bool(self.provider.diff(self.id, self.outs, old_inputs).changes)

    @property
    def health(self) -> str:
        return str(self.outs["health"])


def aircall(org: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "full_name": "Aircall",
        "label": "Aircall",
        "endpoint": f"{org.instance_url}/aircall/",
        "protocol": "Password",
        "username": org.aircall_api_id,
        "password": org.aircall_api_token,
        "health_check": True,
        **overrides,
    }


@pytest.fixture
def engine(org: Any) -> Engine:
    return Engine(configured(NamedCredentialProvider(), org))


def probes(org: Any) -> int:
    return int(org.calls()["by_operation"].get(EXECUTE, 0))


def test_aircall_probe_ok_and_a_no_op_up_makes_no_call(org: Any, engine: Engine) -> None:
    assert engine.up(aircall(org)) == "create"
    assert engine.health == "ok" and engine.outs["authentication_status"] == "NotRequired"
    assert probes(org) == 1
    org.reset_calls()
    assert engine.up(aircall(org)) == "same"
    assert org.calls()["total"] == 0


def test_aircall_key_disabled_is_a_403_with_aircalls_reason_measured_by_refresh(
    org: Any, engine: Engine
) -> None:
    engine.up(aircall(org))
    # Aircall disables the key: the fake Aircall now refuses the stored password.
    org.mdapi().NamedCredential.update(
        org.mdapi().NamedCredential(
            fullName="Aircall",
            label="Aircall",
            endpoint=f"{org.instance_url}/aircall/",
            principalType="NamedUser",
            protocol="Password",
            username=org.aircall_api_id,
            password="a-disabled-key",
            generateAuthorizationHeader=True,
        )
    )
    org.reset_calls()
    # Stored as the new baseline, not reported as a change: a refresh that compared measurements would alarm
    # once and be clean from the next run while the key is still disabled.
    assert engine.refresh() is False
    assert engine.health == 'HTTP 403 from callout:Aircall: {"message": "Forbidden"}'
    calls = org.calls()
    assert calls["total"] == 3  # one read, one listMetadata (the ownership check), one probe
    ops = calls["by_operation"]
    assert (ops["metadata.readMetadata"], ops["metadata.listMetadata"], ops[EXECUTE]) == (1, 1, 1)
    assert "health" not in engine.inputs


def test_eci_never_authorized_then_authorized_then_revoked_each_measured_by_refresh(
    org: Any, engine: Engine
) -> None:
    auth_provider_by_hand(org)
    engine.up(eci(org, health_check=True))
    assert engine.health == "callout failed: System.CalloutException: Unable to fetch the OAuth token"
    assert engine.outs["authentication_status"] == "NotAuthenticated"
    assert engine.refresh() is False
    org.reset_calls()
    assert engine.up(eci(org, health_check=True)) == "same"
    assert org.calls()["total"] == 0  # a no-op up measures nothing

    org.authorize_named_credential("ECI_Named_Credential")
    assert engine.refresh() is False
    assert engine.health == "ok" and engine.outs["authentication_status"] == "Authenticated"
    assert engine.up(eci(org, health_check=True)) == "same"

    org.revoke_named_credential("ECI_Named_Credential")
    assert engine.refresh() is False
    assert engine.health == (
        "callout failed: System.CalloutException: Unable to fetch the OAuth token. Error: invalid_grant. "
        "Error description: expired access/refresh token."
    )
    assert engine.outs["authentication_status"] == "NotAuthenticated"


def test_an_update_measures_again_so_the_up_that_fixes_it_shows_its_health(org: Any, engine: Engine) -> None:
    auth_provider_by_hand(org)
    engine.up(eci(org, health_check=True))
    assert engine.health.startswith("callout failed")
    org.authorize_named_credential("ECI_Named_Credential")
    # No refresh in between: the update (a settings change) probes again.
    org.reset_calls()
    assert engine.up(eci(org, health_check=True, label="ECI NC")) == "update"
    assert engine.health == "ok" and engine.outs["authentication_status"] == "Authenticated"
    assert probes(org) == 1
    assert "health" not in engine.inputs  # measurements live in the outputs only


def test_health_checks_off_makes_no_probe_and_says_so(org: Any, engine: Engine) -> None:
    auth_provider_by_hand(org)
    engine.up(eci(org, health_check=False))
    assert engine.health == health.NOT_CHECKED
    assert engine.outs["authentication_status"] == "Unknown"
    org.authorize_named_credential("ECI_Named_Credential")
    assert engine.refresh() is False
    assert probes(org) == 0
    # Turning it on measures at that update.
    assert engine.up(eci(org, health_check=True)) == "update"
    assert engine.health == "ok" and probes(org) == 1
    assert engine.up(eci(org, health_check=True)) == "same"


def test_without_author_apex_health_says_anonymous_apex_is_not_permitted(org: Any, engine: Engine) -> None:
    org.settings(author_apex=False)
    engine.up(aircall(org))
    assert engine.health.startswith("anonymous Apex not permitted: INSUFFICIENT_ACCESS: ")
    assert probes(org) == 1  # a refusal is an answer, not retried


def test_a_compile_problem_is_classified_with_its_line_and_column(
    org: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The emulator compiles only the probe: any other Apex is its "not emulated" compile problem.
    monkeypatch.setattr(health, "probe_apex", lambda name: "System.debug(1);")
    engine.up(aircall(org))
    assert engine.health.startswith("compile problem at line 1, column 1: Not emulated:")


def test_classify_salesforces_answers() -> None:
    # Shapes from the SOAP API guide's ExecuteAnonymousResult; the compile problem's text as recorded from
    # `sf apex run` in forcedotcom/cli#3433 ("Unexpected token 'private'." at line 3, column 1).
    compile_problem: dict[str, Any] = {"compiled": False, "success": False, "line": 3, "column": 1}
    compile_problem["compileProblem"] = "Unexpected token 'private'."
    assert health.classify("Aircall", compile_problem) == (
        "compile problem at line 3, column 1: Unexpected token 'private'."
    )
    assert health.classify("Aircall", {"compiled": True, "success": True}) == "ok"
    forbidden = {
        "compiled": True,
        "success": False,
        "exceptionMessage": "System.AssertException: Assertion Failed: "
        '[{"errorCode":"API_DISABLED_FOR_ORG"}]: Expected: 200, Actual: 403',
    }
    assert health.classify("ECI_Named_Credential", forbidden) == (
        'HTTP 403 from callout:ECI_Named_Credential: [{"errorCode":"API_DISABLED_FOR_ORG"}]'
    )
    assert (
        health.authentication_status(health.classify("ECI_Named_Credential", forbidden)) == "NotAuthenticated"
    )
    other = {
        "compiled": True,
        "success": False,
        "exceptionMessage": "System.LimitException: Too many callouts",
    }
    assert health.classify("Aircall", other) == "failed: System.LimitException: Too many callouts"
    assert health.authentication_status("failed: x") == "Unknown"


def test_only_the_guides_two_named_credentials_have_a_probe(org: Any) -> None:
    provider = configured(NamedCredentialProvider(), org)
    result = provider.check({}, {"__provider": "p", **aircall(org, full_name="Other")})
    assert [f.property for f in result.failures] == ["health_check"]
