"""IntegrationUser against the emulator through the provider methods: the cost of each step, adopt, every
update-in-place field, bad input with 0 writes. Its engine lifecycle (no-op, drift, destroy) is in
test_base_engine.py."""

from __future__ import annotations

from typing import Any

import pytest

from providers.integration_user import IntegrationUserProvider
from providers.kit import InputError
from tests.support.driver import Driver, configured

USER: dict[str, Any] = {
    "username": "eci.integration@example.com",
    "email": "eci.integration@example.com",
    "first_name": "ECI",
    "last_name": "Integration",
    "alias": "eciint",
}


def live_user(org: Any, username: str = USER["username"]) -> dict[str, Any]:
    rows = org.sf().query(
        "SELECT Id, Username, Email, FirstName, LastName, Alias, TimeZoneSidKey, LocaleSidKey, IsActive, "
        f"Profile.Name FROM User WHERE Username = '{username}'"
    )["records"]
    assert len(rows) == 1, rows
    return dict(rows[0])


def test_calls_for_create_read_and_delete(org: Any) -> None:
    """Engine-level create / no-op / drift / destroy run in test_base_engine.py; here each step's cost."""
    driver = Driver(configured(IntegrationUserProvider(), org))
    org.reset_calls()
    outs = driver.create(**USER)
    # Profile look-up, adopt look-up, insert.
    assert org.calls()["total"] == 3 and org.calls()["writes"] == 1
    user = live_user(org)
    assert user["Profile"]["Name"] == "System Administrator" and user["IsActive"] is True
    assert outs["user_id"] == user["Id"] and outs["adopted"] is False
    org.reset_calls()
    assert driver.read().id == user["Id"]
    assert org.calls()["total"] == 1
    org.reset_calls()
    driver.delete()
    assert org.calls()["total"] == 1 and org.calls()["writes_by_operation"] == {"rest.sobject.update": 1}
    assert live_user(org)["IsActive"] is False  # deactivated, never deleted


def test_an_existing_user_is_refused_or_used_as_it_is_never_rewritten_nor_deactivated(org: Any) -> None:
    """A user of that name that this stack did not create is someone's account: refused with 0 writes; with
    adopt_existing (config integrationUser.adoptExisting) it is used as it is — no field written — and
    delete leaves it active even with delete_adopted."""
    profile = org.sf().query("SELECT Id FROM Profile WHERE Name = 'Standard User'")["records"][0]
    existing = org.sf().User.create(
        {
            "Username": USER["username"],
            "Email": "a.person@example.com",
            "LastName": "Person",
            "FirstName": "A",
            "Alias": "old",
            "TimeZoneSidKey": "Europe/Paris",
            "LocaleSidKey": "fr_FR",
            "EmailEncodingKey": "UTF-8",
            "LanguageLocaleKey": "fr",
            "ProfileId": profile["Id"],
        }
    )["id"]
    before = live_user(org)
    driver = Driver(configured(IntegrationUserProvider(), org))
    org.reset_calls()
    with pytest.raises(InputError, match="integrationUser.adoptExisting"):
        driver.create(**USER)
    assert org.calls()["writes"] == 0

    outs = driver.create(**USER, adopt_existing=True)
    assert outs["adopted"] is True and outs["user_id"] == existing
    assert org.calls()["writes"] == 0 and live_user(org) == before  # profile, email, names: as they were
    driver.update(**USER, adopt_existing=True, delete_adopted=True)
    driver.delete()
    assert org.calls()["writes"] == 0 and live_user(org) == before  # never deactivated


def test_the_connecting_user_is_never_adopted(org: Any) -> None:
    driver = Driver(configured(IntegrationUserProvider(), org))
    org.reset_calls()
    with pytest.raises(InputError, match="the user this stack connects as"):
        driver.create(**{**USER, "username": org.username}, adopt_existing=True)
    assert org.calls()["writes"] == 0


@pytest.mark.parametrize(
    ("field", "value", "salesforce_field"),
    [
        ("email", "someone.else@example.com", "Email"),
        ("first_name", "Eci", "FirstName"),
        ("last_name", "Integrator", "LastName"),
        ("alias", "eci2", "Alias"),
        ("time_zone", "Europe/Paris", "TimeZoneSidKey"),
        ("locale", "fr_FR", "LocaleSidKey"),
        ("username", "eci.renamed@example.com", "Username"),
    ],
)
def test_each_field_updates_in_place(org: Any, field: str, value: str, salesforce_field: str) -> None:
    driver = Driver(configured(IntegrationUserProvider(), org))
    created = driver.create(**USER)
    changed = {**USER, field: value}
    diff = driver.diff(**changed)
    assert diff.changes and diff.replaces == []
    org.reset_calls()
    outs = driver.update(**changed)
    assert outs[field] == value and outs["user_id"] == created["user_id"]
    assert org.calls()["writes_by_operation"] == {"rest.sobject.update": 1}
    assert live_user(org, changed["username"])[salesforce_field] == value


def test_profile_updates_in_place(org: Any) -> None:
    driver = Driver(configured(IntegrationUserProvider(), org))
    driver.create(**USER)
    diff = driver.diff(**USER, profile_name="Standard User")
    assert diff.changes and diff.replaces == []
    driver.update(**USER, profile_name="Standard User")
    assert live_user(org)["Profile"]["Name"] == "Standard User"


def test_unknown_profile_fails_naming_the_config_key_with_zero_writes(org: Any) -> None:
    driver = Driver(configured(IntegrationUserProvider(), org))
    org.reset_calls()
    with pytest.raises(InputError) as info:
        driver.create(**USER, profile_name="Sytem Administrator")
    assert "eci-aircall:integrationUser.profile" in str(info.value)
    assert org.calls()["writes"] == 0


def test_bad_email_and_long_alias_are_check_failures_naming_the_property(org: Any) -> None:
    provider = configured(IntegrationUserProvider(), org)
    org.reset_calls()
    result = provider.check({}, {**USER, "email": "not-an-email", "alias": "far-too-long"})
    assert {f.property for f in result.failures} == {"email", "alias"}
    assert org.calls()["total"] == 0


def test_username_taken_in_another_org_names_the_config_key(org: Any) -> None:
    org.control("POST", "foreign-usernames", {"usernames": [USER["username"]]})
    driver = Driver(configured(IntegrationUserProvider(), org))
    org.reset_calls()
    with pytest.raises(InputError) as info:
        driver.create(**USER)
    assert "already taken in another Salesforce org" in str(info.value)
    assert "eci-aircall:integrationUser.username" in str(info.value)
    assert org.calls()["writes"] == 0


def test_adopting_an_inactive_user_activates_it_and_destroy_restores_that(org: Any) -> None:
    profile = org.sf().query("SELECT Id FROM Profile WHERE Name = 'System Administrator'")["records"][0]
    user_id = org.sf().User.create(
        {"Username": USER["username"], "Email": "old.owner@example.com", "LastName": "Old", "Alias": "old",
         "TimeZoneSidKey": "Europe/Paris", "LocaleSidKey": "fr_FR", "EmailEncodingKey": "UTF-8",
         "LanguageLocaleKey": "fr", "ProfileId": profile["Id"]}
    )["id"]  # fmt: skip
    org.sf().User.update(user_id, {"IsActive": False})
    before = live_user(org)
    driver = Driver(configured(IntegrationUserProvider(), org))
    org.reset_calls()
    outs = driver.create(**USER, adopt_existing=True)
    assert outs["adopted"] is True and live_user(org) == {**before, "IsActive": True}
    assert org.calls()["writes_by_operation"] == {"rest.sobject.update": 1}  # IsActive only
    driver.delete()
    assert live_user(org) == before


# ---- the password reset email (integrationUser.sendPasswordReset): the manual step can log in as the user
def _password_expired(org: Any, user_id: str) -> bool:
    return bool(org.sf().restful(f"sobjects/User/{user_id}/password")["isExpired"])


def test_with_the_opt_in_salesforce_emails_a_password_reset_once_and_nothing_keeps_the_password(
    org: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    driver = Driver(configured(IntegrationUserProvider(), org))
    org.reset_calls()
    outs = driver.create(**USER, send_password_reset=True)
    # Profile look-up, adopt look-up, insert, and the reset (REST DELETE .../password: a write).
    assert org.calls()["total"] == 4 and org.calls()["writes"] == 2
    user_id = outs["user_id"]
    assert _password_expired(org, user_id)  # reset: the emailed link (or a temporary password) sets a new one
    assert outs["password_reset_requested_at"]
    # The temporary password Salesforce answered is in no output, input or log line.
    assert "NewPassword" not in repr(driver.outs) and not any(
        "NewPassword" in r.getMessage() for r in caplog.records
    )
    org.reset_calls()
    driver.update(**{**USER, "alias": "eciint2"}, send_password_reset=True)
    assert "rest.sobject.update" in org.calls()["writes_by_operation"]  # the alias, not a second reset
    assert org.calls()["writes"] == 1
    assert driver.plain()["password_reset_requested_at"] == outs["password_reset_requested_at"]


def test_without_the_opt_in_or_for_an_adopted_user_no_reset_is_sent(org: Any) -> None:
    driver = Driver(configured(IntegrationUserProvider(), org))
    outs = driver.create(**USER)
    assert not _password_expired(org, outs["user_id"]) and outs["password_reset_requested_at"] is None
    other = {**USER, "username": "someone@example.com", "email": "someone@example.com", "alias": "someone"}
    person = Driver(configured(IntegrationUserProvider(), org))
    profile = org.sf().query("SELECT Id FROM Profile WHERE Name = 'Standard User'")["records"][0]["Id"]
    org.sf().User.create(
        {
            "Username": other["username"], "Email": other["email"], "LastName": "Person", "Alias": "person",
            "TimeZoneSidKey": "America/Los_Angeles", "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8",
            "LanguageLocaleKey": "en_US", "ProfileId": profile,
        }
    )  # fmt: skip
    adopted = person.create(**other, adopt_existing=True, send_password_reset=True)
    assert adopted["adopted"] is True and adopted["password_reset_requested_at"] is None
    assert not _password_expired(org, adopted["user_id"])  # a person's account: never reset
