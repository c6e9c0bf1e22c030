"""Issue 23, clean errors: how each kind of error reaches the user through the real CLI and the Python
dynamic-provider host (`python -m pulumi.dynamic`, pulumi/dynamic/__main__.py, which sends a failed provider
method's `traceback.format_exc()` as the error). An error of ours is one message with its fix, no traceback,
its fix given once per run; anything else keeps its traceback; the kind is told from the text alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import zeep.exceptions

from devtools.pulumi_cli import api
from providers.config.connection import connection_settings
from providers.reporting import Reporting, in_host
from salesforce import SalesforceClient, SalesforceError, UsageError
from salesforce.errors import EXIT_CODES, kind_of
from tests.support.raising import FIX, PROGRAM


def _up(tmp_path: Path, resources: dict[str, str]) -> dict[str, str]:
    """`pulumi up` of the raising program; resource name → the error the CLI reported against it."""
    config = {"raising:resources": json.dumps(resources)}
    result = api.run("up", stack="dev", cwd=PROGRAM, state_dir=tmp_path, config=config, check=False)
    assert result.returncode != 0
    return {e["urn"].rsplit("::", 1)[-1]: e["message"] for e in result.data["resource_errors"]}


def test_errors_of_ours_are_one_line_with_the_fix_once_and_a_bug_keeps_its_traceback(tmp_path: Path) -> None:
    errors = _up(tmp_path, {"a": "usage", "b": "usage", "c": "failure", "bug": "unexpected"})
    assert set(errors) == {"a", "b", "c", "bug"}
    for name in ("a", "b", "c"):
        assert "Traceback" not in errors[name] and "File " not in errors[name], errors[name]
        assert len(errors[name].strip().splitlines()) == 1, errors[name]
    # The same refusal with the same fix on two resources: the fix once, the other one pointing at it.
    assert sum(FIX in errors[name] for name in ("a", "b")) == 1
    first, second = ("a", "b") if FIX in errors["a"] else ("b", "a")
    assert f"Thing {first}: eci-aircall NOT_READY: {first} is not ready — {FIX}" in errors[first]
    assert f"— the fix is in the same error on Thing {first}" in errors[second]
    assert "c: Salesforce UNABLE_TO_LOCK_ROW: unable to obtain exclusive access" in errors["c"]
    # A bug: its type and message first, then every frame down to the line that raised.
    bug = errors["bug"]
    assert bug.startswith("KeyError: 'no such input'")
    assert "Traceback (most recent call last):" in bug and "in _look_up" in bug and "in create" in bug
    assert [kind_of(errors[n]) for n in ("a", "b", "c", "bug")] == ["usage", "usage", "failure", None]


def test_the_kind_of_an_error_is_told_from_its_text() -> None:
    usage = UsageError("ORG_MISMATCH", "another org", artifact="CustomSite VoiceConnector", hint="fix it")
    failure = SalesforceError("INVALID_SESSION_ID", "Session expired", artifact="NamedCredential Aircall")
    assert kind_of(f"error: salesforce.errors.UsageError: {usage}") == usage.kind == "usage"
    assert kind_of(f"salesforce.errors.SalesforceError: {failure}") == failure.kind == "failure"
    assert kind_of("eci-aircall CONFIGURATION: the stack configuration has 1 problem:\n  - x") == "usage"
    assert kind_of("Traceback (most recent call last):\n  File ...\nKeyError: 'x'") is None
    # An artifact whose name is in capitals does not pass for a service and a code.
    capitals = SalesforceError("HTTP_503", "down", artifact="PermissionSetAssignment ECI → 005")
    assert kind_of(str(capitals)) == "failure"
    assert EXIT_CODES["usage"] != EXIT_CODES["failure"] and 0 not in EXIT_CODES.values()


def test_outside_the_provider_host_errors_pass_through_untouched() -> None:
    class Provider(Reporting):
        def create(self, props: dict[str, Any]) -> None:
            raise UsageError("NOT_READY", "not ready", hint="fix")

    assert not in_host()
    with pytest.raises(UsageError) as info:
        Provider().create({})
    assert info.value.hint == "fix" and not getattr(info.value, "__notes__", None)
    assert getattr(Provider.create, "__wrapped__", None) is not None  # wrapped when the class was made


def test_a_bug_inside_a_call_keeps_its_type_and_a_refused_request_is_a_salesforce_error() -> None:
    """Only what a service's failure reaches us as is mapped (salesforce.errors.service_failures()): a
    KeyError in our own code is not dressed up as Salesforce's answer, so it keeps its traceback under the
    CLI."""
    settings = connection_settings(
        {"instanceUrl": "https://acme.my.salesforce.com", "accessToken": "00D000000000001!tok-1234"}
    )
    client = SalesforceClient(settings)  # an access token: no call until one is made, and none is here

    def bug(_sf: Any) -> Any:
        empty: dict[str, Any] = {}
        return empty["missing"]

    def refused(_sf: Any) -> Any:
        raise zeep.exceptions.ValidationError("Missing element allowHomePage")

    with pytest.raises(KeyError):
        client._call("CustomSite X", "metadata.createMetadata", bug)
    with pytest.raises(SalesforceError) as info:
        client._call("CustomSite X", "metadata.createMetadata", refused)
    assert info.value.artifact == "CustomSite X" and "allowHomePage" in info.value.message
