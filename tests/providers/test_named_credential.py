"""NamedCredential (legacy) against the emulator: the guide's Aircall and ECI credentials."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.runtime import rpc

from providers.kit import secret_matches
from providers.named_credential import NamedCredentialProvider
from salesforce import SalesforceError
from tests.support.artifact_inputs import AIRCALL_TOKEN, aircall, eci
from tests.support.driver import Driver, configured
from tests.support.emulator import salesforce_ops
from tests.support.kept_secrets import kept_secret
from tests.support.seeds import aircall_named_credential_by_hand, auth_provider_by_hand


@pytest.fixture
def driver(org: Any) -> Driver:
    return Driver(configured(NamedCredentialProvider(), org))


def read_md(org: Any, name: str = "Aircall") -> Any:
    return org.mdapi().NamedCredential.read(name)


def test_aircall_credential_is_created_as_the_guide_says(org: Any, driver: Driver) -> None:
    org.reset_calls()
    outs = driver.create(**aircall())
    # + listMetadata: the identity it was created with (id, createdDate, createdById)
    assert salesforce_ops(org.calls()) == {
        "metadata.readMetadata": 1, "metadata.createMetadata": 1, "metadata.listMetadata": 1,
    }  # fmt: skip
    nc = read_md(org)
    assert (nc.label, nc.endpoint, nc.principalType, nc.protocol, nc.username) == (
        "Aircall", "https://api.aircall.io/", "NamedUser", "Password", "aircall-api-id",
    )  # fmt: skip
    assert (nc.generateAuthorizationHeader, nc.allowMergeFieldsInHeader, nc.allowMergeFieldsInBody) == (
        True, True, True,
    )  # fmt: skip
    assert nc.password is None  # write-only: never read back
    assert kept_secret(driver.outs["password"]) == AIRCALL_TOKEN
    assert secret_matches(AIRCALL_TOKEN, outs["password_hash"])
    assert outs["write_only_fields"] == ["password"]
    assert (outs["authentication_status"], outs["authorize_url"]) == ("NotRequired", None)


def test_eci_credential_points_at_the_auth_provider_and_outputs_the_authorize_url(
    org: Any, driver: Driver
) -> None:
    auth_provider_by_hand(org)
    org.reset_calls()
    outs = driver.create(**eci(org))
    # find + create + its identity (listMetadata) + the Id for the Setup URL
    assert salesforce_ops(org.calls()) == {
        "metadata.readMetadata": 1, "metadata.createMetadata": 1, "metadata.listMetadata": 1, "rest.query": 1
    }  # fmt: skip
    nc = read_md(org, "ECI_Named_Credential")
    assert (nc.protocol, nc.authProvider, nc.oauthScope, nc.generateAuthorizationHeader) == (
        "Oauth", "ECI_Auth_Provider", "refresh_token web api content", True,
    )  # fmt: skip
    nc_id = org.sf().query("SELECT Id FROM NamedCredential WHERE DeveloperName = 'ECI_Named_Credential'")[
        "records"
    ][0]["Id"]
    assert (
        outs["authorize_url"] == f"{org.instance_url}/lightning/setup/NamedCredential/page?address=%2F{nc_id}"
    )
    # No API exposes a legacy credential's authentication status; the output says so instead of guessing.
    assert outs["authentication_status"] == "Unknown"


def test_existing_credential_is_adopted_and_set_to_the_inputs(org: Any, driver: Driver) -> None:
    aircall_named_credential_by_hand(org)
    outs = driver.create(**aircall(), adopt_existing=True)
    assert outs["adopted"] is True
    nc = read_md(org)
    assert (nc.label, nc.endpoint, nc.username) == ("Aircall", "https://api.aircall.io/", "aircall-api-id")
    rows = org.sf().query("SELECT Id FROM NamedCredential WHERE DeveloperName = 'Aircall'")["records"]
    assert len(rows) == 1
    driver.delete()
    assert read_md(org).fullName == "Aircall"


def test_an_existing_credential_not_made_by_the_stack_is_refused_without_the_opt_in(
    org: Any, driver: Driver
) -> None:
    # Issue 14: "the stack never changes what it did not create". An `Aircall` credential set up by hand is
    # someone's; without adoptAircallNamedCredential nothing is written to it, and the error says how to
    # opt in.
    aircall_named_credential_by_hand(org)
    org.reset_calls()
    with pytest.raises(SalesforceError) as info:
        driver.create(**aircall())
    assert info.value.error_code == "INVALID_INPUT"
    assert "already exists in this org and was not created by this stack" in str(info.value)
    assert "eci-aircall:adoptAircallNamedCredential true" in str(info.value)
    assert org.calls()["writes"] == 0
    assert (read_md(org).label, read_md(org).endpoint) == ("Old", "https://old.example/")


def test_same_inputs_diff_to_no_change_without_any_call(org: Any, driver: Driver) -> None:
    driver.create(**aircall())
    org.reset_calls()
    assert driver.diff(**aircall()).changes is False
    assert salesforce_ops(org.calls()) == {}


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("label", "Aircall API", "label"),
        ("endpoint", "https://api.aircall.io/v1/", "endpoint"),
        ("username", "another-api-id", "username"),
        ("generate_authorization_header", False, "generateAuthorizationHeader"),
        ("allow_merge_fields_in_header", False, "allowMergeFieldsInHeader"),
        ("allow_merge_fields_in_body", False, "allowMergeFieldsInBody"),
    ],
)
def test_in_place_update_of(org: Any, driver: Driver, field: str, value: Any, path: str) -> None:
    driver.create(**aircall())
    result = driver.diff(**aircall(**{field: value}))
    assert result.changes is True and result.replaces == []
    driver.update(**aircall(**{field: value}))
    assert (getattr(read_md(org), path) or False) == value
    assert driver.diff(**aircall(**{field: value})).changes is False


def test_changed_password_is_detected_by_its_hash_and_sent(org: Any, driver: Driver) -> None:
    driver.create(**aircall())
    result = driver.diff(**aircall(password="ROTATED-AIRCALL_TOKEN-123"))
    assert result.changes is True and result.replaces == []
    org.reset_calls()
    outs = driver.update(**aircall(password="ROTATED-AIRCALL_TOKEN-123"))
    assert salesforce_ops(org.calls()).get("metadata.updateMetadata") == 1
    assert secret_matches("ROTATED-AIRCALL_TOKEN-123", outs["password_hash"])


def test_oauth_scope_and_auth_provider_update_in_place(org: Any, driver: Driver) -> None:
    auth_provider_by_hand(org)
    auth_provider_by_hand(org, fullName="Other_Provider")
    driver.create(**eci(org))
    changed = eci(org, oauth_scope="api refresh_token", auth_provider="Other_Provider")
    assert driver.diff(**changed).replaces == []
    outs = driver.update(**changed)
    nc = read_md(org, "ECI_Named_Credential")
    assert (nc.oauthScope, nc.authProvider) == ("api refresh_token", "Other_Provider")
    assert outs["authorize_url"].startswith(
        f"{org.instance_url}/lightning/setup/NamedCredential/page?address=%2F"
    )


def test_renaming_replaces(driver: Driver) -> None:
    driver.create(**aircall())
    result = driver.diff(**aircall(full_name="Aircall2"))
    assert result.replaces == ["full_name"] and result.delete_before_replace is True


def test_refresh_shows_an_admin_edit_and_update_restores_it(org: Any, driver: Driver) -> None:
    driver.create(**aircall())
    nc = read_md(org)
    nc.endpoint = "https://evil.example/"
    nc.allowMergeFieldsInBody = False
    org.mdapi().NamedCredential.update(nc)
    org.reset_calls()
    result = driver.read()
    # values + identity
    assert salesforce_ops(org.calls()) == {"metadata.readMetadata": 1, "metadata.listMetadata": 1}
    assert (result.inputs["endpoint"], result.inputs["allow_merge_fields_in_body"]) == (
        "https://evil.example/",
        False,
    )
    assert kept_secret(result.inputs["password"]) == AIRCALL_TOKEN
    assert result.outs["write_only_fields"] == ["password"]
    assert driver.diff(**aircall()).changes is True
    driver.update(**aircall())
    assert (read_md(org).endpoint, read_md(org).allowMergeFieldsInBody) == ("https://api.aircall.io/", True)
    assert driver.diff(**aircall()).changes is False


def test_refresh_keeps_the_authorize_url_without_another_query(org: Any, driver: Driver) -> None:
    auth_provider_by_hand(org)
    outs = driver.create(**eci(org))
    org.reset_calls()
    result = driver.read()
    # values + identity
    assert salesforce_ops(org.calls()) == {"metadata.readMetadata": 1, "metadata.listMetadata": 1}
    assert result.outs["authorize_url"] == outs["authorize_url"]


def test_delete_removes_it_and_a_second_delete_is_fine(org: Any, driver: Driver) -> None:
    driver.create(**aircall())
    driver.delete()
    assert not org.sf().query("SELECT Id FROM NamedCredential WHERE DeveloperName = 'Aircall'")["records"]
    driver.delete()


@pytest.mark.parametrize(
    ("bad", "prop"),
    [
        ({"password": None}, "password"),
        ({"username": ""}, "username"),
        ({"endpoint": "api.aircall.io"}, "endpoint"),
        ({"protocol": "Basicish"}, "protocol"),
        ({"protocol": "Oauth", "auth_provider": None}, "auth_provider"),
    ],
)
def test_bad_input_is_a_check_failure_with_no_call(org: Any, bad: dict[str, Any], prop: str) -> None:
    provider = configured(NamedCredentialProvider(), org)
    org.reset_calls()
    result = provider.check({}, {"__provider": "p", **aircall(**bad)})
    assert [f.property for f in result.failures] == [prop]
    assert AIRCALL_TOKEN not in " ".join(f.reason for f in result.failures)
    assert salesforce_ops(org.calls()) == {}


def test_an_auth_provider_computed_by_another_resource_is_not_a_failure_in_preview(org: Any) -> None:
    provider = configured(NamedCredentialProvider(), org)
    result = provider.check({}, {"__provider": "p", **eci(org, auth_provider=rpc.UNKNOWN)})
    assert result.failures == []


def test_missing_auth_provider_fails_with_no_write(org: Any, driver: Driver) -> None:
    org.reset_calls()
    with pytest.raises(SalesforceError) as caught:
        driver.create(**eci(org))
    assert "ECI_Auth_Provider" in str(caught.value)
    assert org.calls()["writes"] == 0


def test_reply_lost_after_the_credential_was_saved_converges_to_one_of_ours(org: Any, driver: Driver) -> None:
    org.fault(kind="reply_lost", operation="metadata.createMetadata", name="Aircall", count=1)
    outs = driver.create(**aircall())
    assert outs["adopted"] is False
    rows = org.sf().query("SELECT Id FROM NamedCredential WHERE DeveloperName = 'Aircall'")["records"]
    assert len(rows) == 1
