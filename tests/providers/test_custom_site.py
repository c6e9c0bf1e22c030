"""CustomSite and SiteGuestUser against the emulator: the cost of each step, adopt, every update-in-place
field, the replace key, deletion by hand, bad input with 0 writes. Their engine lifecycle (drift included) is
in
test_base_engine.py."""

from __future__ import annotations

from typing import Any

import pytest

from providers.custom_site import CustomSiteProvider, SiteGuestUserProvider
from providers.kit import InputError
from salesforce import SalesforceError
from tests.support.driver import Driver, configured
from tests.support.seeds import site_by_hand


def site_inputs(org: Any, **extra: Any) -> dict[str, Any]:
    return {
        "site_admin": org.username,
        "guest_record_default_owner": org.username,
        "contact_email": "admin@example.com",
        **extra,
    }


def live_site(org: Any, name: str = "VoiceConnector") -> Any:
    return org.mdapi().CustomSite.read(name)


def guest_active(org: Any, user_id: str) -> bool:
    return bool(org.sf().query(f"SELECT IsActive FROM User WHERE Id = '{user_id}'")["records"][0]["IsActive"])


def other_admin(org: Any) -> str:
    profile = org.sf().query("SELECT Id FROM Profile WHERE Name = 'System Administrator'")["records"][0]
    org.sf().User.create(
        {
            "Username": "second.admin@example.com",
            "Email": "second.admin@example.com",
            "LastName": "Admin",
            "Alias": "adm2",
            "TimeZoneSidKey": "America/Los_Angeles",
            "LocaleSidKey": "en_US",
            "EmailEncodingKey": "UTF-8",
            "LanguageLocaleKey": "en_US",
            "ProfileId": profile["Id"],
        }
    )
    return "second.admin@example.com"


def test_calls_for_create_read_and_delete(org: Any) -> None:
    """Engine-level create / no-op / drift / destroy run in test_base_engine.py; here each step's cost."""
    site_driver = Driver(configured(CustomSiteProvider(), org))
    org.reset_calls()
    outs = site_driver.create(**site_inputs(org))
    # adopt look-up, createMetadata, listMetadata (its identity), Site query for the guest user and URL
    assert org.calls()["total"] == 4 and org.calls()["writes_by_operation"] == {"metadata.createMetadata": 1}
    site = live_site(org)
    assert (site.active, site.indexPage, site.clickjackProtectionLevel) == (
        True,
        "SiteLogin",
        "SameOriginOnly",
    )
    assert outs["guest_user_id"] and outs["site_url"].startswith("https://")

    guest = Driver(configured(SiteGuestUserProvider(), org))
    org.reset_calls()
    assert guest.create(user_id=outs["guest_user_id"])["is_active"] is True
    assert org.calls()["total"] == 1 and org.calls()["writes"] == 0  # active with its site already

    org.reset_calls()
    assert site_driver.read().id == "VoiceConnector" and guest.read().id == outs["guest_user_id"]
    # one each (guest user Id and URL are carried over), + the site's listMetadata (its identity)
    assert org.calls()["total"] == 3
    org.reset_calls()
    guest.delete()
    site_driver.delete()
    assert org.calls()["writes_by_operation"] == {"metadata.deleteMetadata": 1}
    assert org.calls()["total"] == 2  # listMetadata (still the site this stack made?) + deleteMetadata
    assert live_site(org).fullName is None
    assert not guest_active(org, outs["guest_user_id"])  # Salesforce deactivates it with the site


def test_existing_site_is_adopted_and_left_on_delete(org: Any) -> None:
    site_by_hand(org, clickjackProtectionLevel="NoFraming", description="made by hand")
    driver = Driver(configured(CustomSiteProvider(), org))
    org.reset_calls()
    outs = driver.create(**site_inputs(org), adopt_existing=True)
    assert outs["adopted"] is True and outs["guest_user_id"]
    assert org.calls()["writes_by_operation"] == {"metadata.updateMetadata": 1}
    site = live_site(org)
    assert site.clickjackProtectionLevel == "SameOriginOnly"
    assert site.description == "made by hand"  # fields we do not manage survive the update
    driver.delete()
    assert live_site(org).fullName == "VoiceConnector"


@pytest.mark.parametrize(
    ("field", "value", "metadata_field"),
    [
        ("label", "Voice Connector Site", "masterLabel"),
        ("active", False, "active"),
        ("home_page", "InMaintenance", "indexPage"),
        ("clickjack_protection_level", "NoFraming", "clickjackProtectionLevel"),
        ("site_admin", "second.admin@example.com", "siteAdmin"),
        ("guest_record_default_owner", "second.admin@example.com", "siteGuestRecordDefaultOwner"),
    ],
)
def test_each_field_updates_in_place(org: Any, field: str, value: Any, metadata_field: str) -> None:
    other_admin(org)
    driver = Driver(configured(CustomSiteProvider(), org))
    created = driver.create(**site_inputs(org))
    changed = site_inputs(org, **{field: value})
    diff = driver.diff(**changed)
    assert diff.changes and diff.replaces == []
    org.reset_calls()
    outs = driver.update(**changed)
    assert org.calls()["writes_by_operation"] == {"metadata.updateMetadata": 1}
    assert outs[field] == value and outs["guest_user_id"] == created["guest_user_id"]
    assert getattr(live_site(org), metadata_field) == value


def test_contact_email_change_writes_nothing(org: Any) -> None:
    # CustomSite has no contact-email field: the site contact is the siteAdmin user (see the module doc).
    driver = Driver(configured(CustomSiteProvider(), org))
    driver.create(**site_inputs(org))
    changed = site_inputs(org, contact_email="new.contact@example.com")
    assert driver.diff(**changed).changes
    org.reset_calls()
    assert driver.update(**changed)["contact_email"] == "new.contact@example.com"
    assert org.calls()["total"] == 0


def test_full_name_is_a_delete_before_replace(org: Any) -> None:
    driver = Driver(configured(CustomSiteProvider(), org))
    driver.create(**site_inputs(org))
    diff = driver.diff(**site_inputs(org, full_name="OtherSite"))
    assert diff.replaces == ["full_name"] and diff.delete_before_replace is True


def test_site_deleted_by_hand_disappears_on_read(org: Any) -> None:
    driver = Driver(configured(CustomSiteProvider(), org))
    driver.create(**site_inputs(org))
    org.mdapi().CustomSite.delete("VoiceConnector")
    assert driver.read().id == ""


def test_unregistered_site_domain_names_the_guide_step_with_zero_writes(org: Any) -> None:
    org.settings(site_domain_registered=False)
    driver = Driver(configured(CustomSiteProvider(), org))
    org.reset_calls()
    with pytest.raises(SalesforceError) as info:
        driver.create(**site_inputs(org))
    assert "Register My Salesforce Site Domain" in str(info.value)
    assert "Set Up the Salesforce Site" in str(info.value)
    assert org.calls()["writes"] == 0


def test_unknown_site_admin_fails_with_zero_writes(org: Any) -> None:
    driver = Driver(configured(CustomSiteProvider(), org))
    org.reset_calls()
    with pytest.raises(SalesforceError) as info:
        driver.create(**site_inputs(org, site_admin="nobody@nowhere.example"))
    assert "CustomSite VoiceConnector" in str(info.value)
    assert org.calls()["writes"] == 0


def test_misspelled_clickjack_level_is_a_check_failure(org: Any) -> None:
    provider = configured(CustomSiteProvider(), org)
    result = provider.check({}, site_inputs(org, clickjack_protection_level="SameOrigin"))
    assert [f.property for f in result.failures] == ["clickjack_protection_level"]


def test_guest_user_is_activated_and_never_deleted_by_default(org: Any) -> None:
    site = Driver(configured(CustomSiteProvider(), org)).create(**site_inputs(org))
    org.sf().User.update(site["guest_user_id"], {"IsActive": False})
    guest = Driver(configured(SiteGuestUserProvider(), org))
    org.reset_calls()
    outs = guest.create(user_id=site["guest_user_id"])
    assert outs["is_active"] is True and outs["adopted"] is True
    assert org.calls()["writes_by_operation"] == {"rest.sobject.update": 1}
    assert guest_active(org, site["guest_user_id"])
    org.reset_calls()
    guest.delete()
    assert org.calls()["total"] == 0 and guest_active(org, site["guest_user_id"])


def test_guest_user_id_change_is_a_replace_and_an_unknown_id_fails_with_zero_writes(org: Any) -> None:
    site = Driver(configured(CustomSiteProvider(), org)).create(**site_inputs(org))
    guest = Driver(configured(SiteGuestUserProvider(), org))
    guest.create(user_id=site["guest_user_id"])
    diff = guest.diff(user_id="005000000000001AAA")
    assert diff.replaces == ["user_id"] and diff.delete_before_replace is True
    org.reset_calls()
    with pytest.raises(InputError, match="005000000000001AAA"):
        Driver(configured(SiteGuestUserProvider(), org)).create(user_id="005000000000001AAA")
    assert org.calls()["writes"] == 0
