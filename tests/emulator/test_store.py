"""The store on its own: ids, transactions, rules that hold for every writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.sf_emulator.store import ApiError, Org, id18, normalize_id


@pytest.fixture
def store(tmp_path: Path) -> Org:
    return Org(tmp_path, "https://127.0.0.1:1")


def test_id18_suffix_encodes_the_case_of_the_15_char_id() -> None:
    # The pair commonly used to explain the algorithm (a0D30000001n7Pi -> ...EAI), and one worked by hand:
    # "001Dn" (D at position 3 -> bit 8 -> 'I'), "00000" (-> 'A'), "1aBcD" (B and D: 4 + 16 -> 'U').
    assert id18("a0D30000001n7Pi") == "a0D30000001n7PiEAI"
    assert id18("001Dn000001aBcD") == "001Dn000001aBcDIAU"
    assert normalize_id("001Dn000001aBcD") == normalize_id("001Dn000001aBcDIAU") == "001Dn000001aBcDIAU"
    assert normalize_id("001Dn000001aBcDXXX") is None
    assert normalize_id("not-an-id") is None


def test_new_ids_are_unique_prefixed_and_survive_reset(store: Org) -> None:
    first = store.new_id("005")
    store.reset()
    second = store.new_id("005")
    assert first.startswith("005") and len(first) == 18 and first != second


def test_failed_nested_transaction_undoes_only_its_own_writes(store: Org) -> None:
    store.begin_request()
    with store.transaction():
        store.metadata_put("ConnectedApp", "Kept", {"fullName": "Kept"})
        with pytest.raises(RuntimeError), store.transaction():
            store.metadata_put("ConnectedApp", "Dropped", {"fullName": "Dropped"})
            raise RuntimeError("one record failed")
    assert store.metadata_get("ConnectedApp", "kept") == {"fullName": "Kept"}
    assert store.metadata_get("ConnectedApp", "Dropped") is None
    assert store.request_writes() == 1


def test_rolled_back_request_is_not_a_write(store: Org) -> None:
    store.begin_request()
    with pytest.raises(RuntimeError), store.transaction():
        store.metadata_put("ConnectedApp", "X", {"fullName": "X"})
        raise RuntimeError("boom")
    assert store.request_writes() == 0 and store.metadata_list("ConnectedApp") == []


def test_metadata_names_are_case_insensitive_and_deletable(store: Org) -> None:
    store.metadata_put("AuthProvider", "ECI_Auth", {"fullName": "ECI_Auth"})
    assert store.metadata_get("AuthProvider", "eci_auth") == {"fullName": "ECI_Auth"}
    assert store.metadata_delete("AuthProvider", "ECI_AUTH") is True
    assert store.metadata_delete("AuthProvider", "ECI_AUTH") is False


def test_store_refuses_duplicate_usernames_from_any_writer(store: Org) -> None:
    profile = store.sobject_find("Profile", Name="Standard User")[0]["Id"]
    fields = {"Username": "a@b.example", "LastName": "A", "ProfileId": profile}
    store.sobject_insert("User", fields)
    with pytest.raises(ApiError) as raised:
        store.sobject_insert("User", {**fields, "Username": "A@B.example"})
    assert raised.value.error_code == "DUPLICATE_USERNAME"


def test_store_refuses_to_delete_users(store: Org) -> None:
    with pytest.raises(ApiError) as raised:
        store.sobject_delete("User", store.admin_user_id())
    assert raised.value.status == 400


def test_find_matches_ids_in_either_length_and_strings_ignoring_case(store: Org) -> None:
    admin = store.admin_user_id()
    assert store.sobject_find("User", Id=admin[:15])[0]["Id"] == admin
    assert store.sobject_find("PermissionSet", Name="voice_connector_permission")


def test_settings_writes_persist(tmp_path: Path) -> None:
    org = Org(tmp_path, "https://127.0.0.1:1")
    org.settings["edition"] = "Developer"
    org.close()
    again = Org(tmp_path, "https://127.0.0.1:1")
    assert again.settings["edition"] == "Developer"
    assert again.sobject_find("Organization")[0]["OrganizationType"] == "Developer Edition"


def test_each_org_has_its_own_organization_id_kept_across_restarts_and_resets(tmp_path: Path) -> None:
    """Real orgs each have their own Organization Id, which login answers, userinfo and sessions carry."""
    first = Org(tmp_path / "a", "https://127.0.0.1:1")
    second = Org(tmp_path / "b", "https://127.0.0.1:2")
    oid = first.organization_id()
    assert oid.startswith("00D") and normalize_id(oid) == oid and oid != second.organization_id()
    assert first.sobject_find("Organization")[0]["Id"] == oid
    assert first.admin_token().startswith(oid[:15] + "!")
    first.reset()
    assert first.organization_id() == oid and first.sobject_find("Organization")[0]["Id"] == oid
    first.close()
    assert Org(tmp_path / "a", "https://127.0.0.1:1").organization_id() == oid
