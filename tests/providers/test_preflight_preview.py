"""Preflight in `pulumi preview`, under the real CLI (issue 23): the program's own stack (`__main__.py`)
against the emulator. A preview of a new stack runs every check and fails listing every blocker, each with its
fix, having written nothing; it says who made a guide component that already exists and what `up` will do
with it; and a preview of an unchanged, applied stack makes no call at all."""

from __future__ import annotations

from pathlib import Path

from devtools.sf_emulator.client import EmulatorHandle
from tests.support.reliability import PREFLIGHT, Stack
from tests.support.seeds import aircall_named_credential_by_hand, colleague_session


def test_one_preview_lists_all_three_blockers_and_writes_nothing(org: EmulatorHandle, tmp_path: Path) -> None:
    # Professional Edition, a colleague's own `Aircall` named credential, and connected apps blocked.
    org.settings(edition="Professional", connected_app_creation_allowed=False)
    aircall_named_credential_by_hand(org, colleague_session(org))
    stack = Stack(org, tmp_path / "state")
    org.reset_calls()
    result = stack.run("preview", check=False)
    assert result.returncode != 0
    # The engine reports each check failure as an error of the resource (pulumi/pulumi
    # pkg/resource/deploy/step_generator.go issueCheckFailures), in the order Preflight listed them.
    blockers = [e for e in result.errors if f"resource '{PREFLIGHT}'" in e]
    assert len(blockers) == 3, result.errors
    edition, aircall, app = blockers
    assert "Professional Edition" in edition and "Enterprise, Performance and Unlimited" in edition
    assert "NamedCredential Aircall (created " in aircall and " by Jane Admin)" in aircall
    assert "pulumi config set eci-aircall:adoptAircallNamedCredential true" in aircall
    assert "property adopt_aircall_named_credential value" in aircall
    assert "pulumi config set eci-aircall:oauthAppKind externalClientApp" in app
    # Reads and a check-only deploy (a validation: saved nothing), and not one write.
    calls = org.calls()
    assert calls["by_operation"]["metadata.deploy"] == 1 and calls["writes"] == 0, calls
    assert "Traceback" not in result.text


def test_a_preview_says_who_made_an_existing_component_and_that_up_adopts_it_once(
    org: EmulatorHandle, tmp_path: Path
) -> None:
    aircall_named_credential_by_hand(org, colleague_session(org))
    stack = Stack(org, tmp_path / "state")
    stack.overrides = {"adoptAircallNamedCredential": "true"}
    org.reset_calls()
    result = stack.run("preview")
    said = [m for m in result.data["messages"] if m.startswith("Preflight: NamedCredential Aircall")]
    assert len(said) == 1, result.data["messages"]
    assert " by Jane Admin); `up` will adopt it (eci-aircall:adoptAircallNamedCredential true)" in said[0]
    assert org.calls()["writes"] == 0


def test_a_preview_of_an_unchanged_applied_stack_makes_no_call(org: EmulatorHandle, tmp_path: Path) -> None:
    stack = Stack(org, tmp_path / "state")
    stack.run("up")
    org.reset_calls()
    stack.run("preview", expect_no_changes=True)
    calls = org.calls()
    assert calls["total"] == 0 and "aircall.ping" not in calls["by_operation"], calls
