"""Per-type Salesforce behaviour of the emulated Metadata API (rules and sources: metadata_types.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from devtools.sf_emulator import connect, metadata_api, metadata_types
from devtools.sf_emulator.store import ADMIN_USERNAME, ApiError, Org
from tests.support.in_process_mdapi import INSTANCE_URL, auth_provider, connected_app, custom_site, save


def _credentials(org: Org, app_id: str) -> dict[str, Any]:
    status, listing = connect.handle(org, "GET", f"/services/data/v63.0/apps/oauth/credentials/{app_id}", {})
    assert status == 200, listing
    consumer = listing["consumers"][0]["id"]
    status, body = connect.handle(
        org,
        "GET",
        f"/services/data/v63.0/apps/oauth/credentials/{app_id}/{consumer}",
        {"part": "keyandsecret"},
    )
    assert status == 200, body
    return dict(body)


def named_credential(mdapi: Any, name: str = "ECI_Named_Credential", **extra: Any) -> Any:
    fields = {
        "fullName": name,
        "label": "ECI Named Credential",
        "endpoint": f"{INSTANCE_URL}/",
        "principalType": "NamedUser",
        "protocol": "Oauth",
        "authProvider": "ECI_Auth_Provider",
        "oauthScope": "refresh_token web api content",
        "generateAuthorizationHeader": True,
        **extra,
    }
    return mdapi.NamedCredential(**fields)


# ---- ConnectedApp ------------------------------------------------------------------------------------------


def test_connected_app_consumer_key_given_at_create_is_readable_and_secret_is_never_returned(
    mdapi: Any, md_org: Org
) -> None:
    mdapi.ConnectedApp.create(
        [connected_app(mdapi, consumerKey="3MVG9.given", consumerSecret="S3CR3T-given")]
    )
    app = mdapi.ConnectedApp.read(["ECI_Connected_App"])
    assert app.oauthConfig.consumerKey == "3MVG9.given"
    assert app.oauthConfig.consumerSecret is None
    # The secret was kept: the admin-only Connect REST resource hands it out.
    stored = md_org.metadata_get("ConnectedApp", "ECI_Connected_App")
    assert stored is not None
    creds = _credentials(md_org, stored["_id"])
    assert (creds["key"], creds["secret"]) == ("3MVG9.given", "S3CR3T-given")


def test_connected_app_without_key_gets_a_generated_key_and_secret(mdapi: Any, md_org: Org) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi)])
    key = mdapi.ConnectedApp.read(["ECI_Connected_App"]).oauthConfig.consumerKey
    assert key.startswith("3MVG9") and len(key) == 85
    stored = md_org.metadata_get("ConnectedApp", "ECI_Connected_App")
    assert stored is not None
    creds = _credentials(md_org, stored["_id"])
    assert creds["key"] == key and re.fullmatch(r"[0-9A-F]{64}", creds["secret"])


def test_connected_app_update_with_a_different_consumer_key_fails(mdapi: Any) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi, consumerKey="3MVG9.original")])
    results = save(mdapi, "updateMetadata", [connected_app(mdapi, consumerKey="3MVG9.other")])
    assert results[0].success is False
    assert results[0].errors[0].message == "You cannot provide a Consumer Key"
    assert results[0].errors[0].fields == ["consumerKey"]
    assert mdapi.ConnectedApp.read(["ECI_Connected_App"]).oauthConfig.consumerKey == "3MVG9.original"


def test_connected_app_update_keeps_key_and_secret_when_omitted_or_unchanged(mdapi: Any, md_org: Org) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi, consumerKey="3MVG9.k", consumerSecret="s-1")])
    mdapi.ConnectedApp.update([connected_app(mdapi, callbackUrl="https://new.example/cb")])
    mdapi.ConnectedApp.update(
        [connected_app(mdapi, callbackUrl="https://new.example/cb", consumerKey="3MVG9.k")]
    )
    app = mdapi.ConnectedApp.read(["ECI_Connected_App"])
    assert (app.oauthConfig.consumerKey, app.oauthConfig.callbackUrl) == ("3MVG9.k", "https://new.example/cb")
    stored = md_org.metadata_get("ConnectedApp", "ECI_Connected_App")
    assert stored is not None and _credentials(md_org, stored["_id"])["secret"] == "s-1"


def test_changing_a_connected_app_secret_is_refused_without_echoing_it(mdapi: Any) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi, consumerSecret="first-secret-value")])
    results = save(mdapi, "updateMetadata", [connected_app(mdapi, consumerSecret="second-secret-value")])
    assert results[0].success is False
    assert "secret-value" not in results[0].errors[0].message


def test_two_apps_cannot_share_a_consumer_key(mdapi: Any) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi, "One", consumerKey="3MVG9.same")])
    results = save(mdapi, "createMetadata", [connected_app(mdapi, "Two", consumerKey="3MVG9.same")])
    assert results[0].errors[0].statusCode == "DUPLICATE_VALUE"
    assert results[0].errors[0].message == "The consumer key is already taken."


def test_blocked_connected_app_creation_refuses_create_and_upsert_of_new_apps_only(
    mdapi: Any, md_org: Org
) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi, "Existing")])
    md_org.settings["connected_app_creation_allowed"] = False

    created = save(mdapi, "createMetadata", [connected_app(mdapi, "Brand_New")])
    upserted = save(mdapi, "upsertMetadata", [connected_app(mdapi, "Brand_New")])
    for result in (created[0], upserted[0]):
        assert result.success is False
        assert "Creation of connected apps is disabled" in result.errors[0].message
    assert mdapi.ConnectedApp.read(["Brand_New"]).fullName is None

    # Existing apps stay fully manageable (Help 005228017: editing and deletion are not affected).
    assert save(mdapi, "upsertMetadata", [connected_app(mdapi, "Existing", callbackUrl="https://x/cb")])[
        0
    ].success
    mdapi.ConnectedApp.update([connected_app(mdapi, "Existing", callbackUrl="https://y/cb")])
    assert mdapi.ConnectedApp.read(["Existing"]).oauthConfig.callbackUrl == "https://y/cb"
    mdapi.ConnectedApp.delete(["Existing"])
    assert mdapi.ConnectedApp.read(["Existing"]).fullName is None


def test_connected_app_profiles_and_permission_sets_must_exist(mdapi: Any) -> None:
    app = connected_app(mdapi)
    app.profileName = ["System Administrator", "No Such Profile"]
    results = save(mdapi, "createMetadata", [app])
    assert results[0].errors[0].message == "In field: profileName - no Profile named No Such Profile found"
    app.profileName = ["System Administrator"]
    app.permissionSetName = ["Voice_Connector_Permission"]
    assert save(mdapi, "createMetadata", [app])[0].success


def test_connected_application_sobject_row_follows_the_app(mdapi: Any, md_org: Org) -> None:
    mdapi.ConnectedApp.create([connected_app(mdapi)])
    rows = md_org.sobject_find("ConnectedApplication", Name="ECI Connected App")
    assert len(rows) == 1 and rows[0]["Id"].startswith("0H4")
    assert rows[0]["OptionsAllowAdminApprovedUsersOnly"] is False
    mdapi.ConnectedApp.update([connected_app(mdapi, isAdminApproved=True)])
    updated = md_org.sobject_get("ConnectedApplication", rows[0]["Id"])
    assert updated is not None and updated["OptionsAllowAdminApprovedUsersOnly"] is True
    stored = md_org.metadata_get("ConnectedApp", "ECI_Connected_App")
    assert stored is not None and stored["_id"] == rows[0]["Id"]
    mdapi.ConnectedApp.delete(["ECI_Connected_App"])
    assert md_org.sobject_find("ConnectedApplication") == []


# ---- AuthProvider ------------------------------------------------------------------------------------------


def test_auth_provider_full_name_is_the_url_suffix_and_secret_is_write_only(mdapi: Any, md_org: Org) -> None:
    mdapi.AuthProvider.create([auth_provider(mdapi)])
    read = mdapi.AuthProvider.read(["ECI_Auth_Provider"])
    assert (read.fullName, read.friendlyName, read.consumerKey) == (
        "ECI_Auth_Provider",
        "ECI Auth Provider",
        "3MVG9.key",
    )
    assert read.consumerSecret is None
    row = md_org.sobject_find("AuthProvider", DeveloperName="ECI_Auth_Provider")
    assert row and row[0]["FriendlyName"] == "ECI Auth Provider" and row[0]["ProviderType"] == "Salesforce"
    assert metadata_types.auth_provider_callback_url(md_org, read.fullName) == (
        f"{INSTANCE_URL}/services/authcallback/ECI_Auth_Provider"
    )


def test_update_without_the_secret_keeps_the_auth_provider_secret(mdapi: Any, md_org: Org) -> None:
    mdapi.AuthProvider.create([auth_provider(mdapi)])
    mdapi.AuthProvider.update([auth_provider(mdapi, consumerSecret=None, friendlyName="Renamed")])
    stored = md_org.metadata_get("AuthProvider", "ECI_Auth_Provider")
    assert stored is not None and stored["consumerSecret"] == "provider-secret-value"
    assert mdapi.AuthProvider.read(["ECI_Auth_Provider"]).friendlyName == "Renamed"


def test_auth_provider_referenced_by_a_named_credential_cannot_be_deleted(mdapi: Any) -> None:
    mdapi.AuthProvider.create([auth_provider(mdapi)])
    mdapi.NamedCredential.create([named_credential(mdapi)])
    results = list(
        mdapi._service.deleteMetadata(
            "AuthProvider", ["ECI_Auth_Provider"], _soapheaders=[mdapi._session_header]
        )
    )
    assert results[0].success is False
    assert results[0].errors[0].statusCode == "DELETE_FAILED"
    assert "ECI_Named_Credential" in results[0].errors[0].message
    mdapi.NamedCredential.delete(["ECI_Named_Credential"])
    mdapi.AuthProvider.delete(["ECI_Auth_Provider"])
    assert mdapi.AuthProvider.read(["ECI_Auth_Provider"]).fullName is None


# ---- NamedCredential ---------------------------------------------------------------------------------------


def test_named_credential_password_is_write_only(mdapi: Any, md_org: Org) -> None:
    aircall = named_credential(
        mdapi, "Aircall", label="Aircall", endpoint="https://api.aircall.io/", protocol="Password",
        authProvider=None, username="api_id", password="api-token-value", allowMergeFieldsInHeader=True,
    )  # fmt: skip
    mdapi.NamedCredential.create([aircall])
    read = mdapi.NamedCredential.read(["Aircall"])
    assert (read.username, read.password, read.protocol) == ("api_id", None, "Password")
    row = md_org.sobject_find("NamedCredential", DeveloperName="Aircall")[0]
    assert (row["Endpoint"], row["PrincipalType"], row["MasterLabel"]) == (
        "https://api.aircall.io/",
        "NamedUser",
        "Aircall",
    )


def test_oauth_named_credential_needs_an_existing_auth_provider(mdapi: Any) -> None:
    results = save(mdapi, "createMetadata", [named_credential(mdapi)])
    assert results[0].success is False
    assert results[0].errors[0].statusCode == "INVALID_CROSS_REFERENCE_KEY"
    assert results[0].errors[0].fields == ["authProvider"]


def test_oauth_named_credential_starts_unauthenticated_until_the_admin_authorizes(
    mdapi: Any, md_org: Org
) -> None:
    mdapi.AuthProvider.create([auth_provider(mdapi)])
    mdapi.NamedCredential.create([named_credential(mdapi)])
    assert metadata_types.named_credential_status(md_org, "ECI_Named_Credential")["authenticationStatus"] == (
        "NotAuthenticated"
    )
    metadata_api.authorize_named_credential(md_org, "ECI_Named_Credential")
    status = metadata_types.named_credential_status(md_org, "ECI_Named_Credential")
    assert (status["authenticationStatus"], status["authenticatedAs"]) == ("Authenticated", ADMIN_USERNAME)
    row = md_org.sobject_find("NamedCredential", DeveloperName="ECI_Named_Credential")[0]
    assert (
        row["AuthProviderId"]
        == md_org.sobject_find("AuthProvider", DeveloperName="ECI_Auth_Provider")[0]["Id"]
    )

    # Pointing it at another provider invalidates the token: authorize again.
    mdapi.AuthProvider.create([auth_provider(mdapi, "Other_Provider", consumerKey="3MVG9.other")])
    mdapi.NamedCredential.update([named_credential(mdapi, authProvider="Other_Provider")])
    assert metadata_types.named_credential_status(md_org, "ECI_Named_Credential")["authenticationStatus"] == (
        "NotAuthenticated"
    )


def test_authorizing_an_unknown_or_password_named_credential_is_refused(mdapi: Any, md_org: Org) -> None:
    with pytest.raises(ApiError) as unknown:
        metadata_api.authorize_named_credential(md_org, "Nope")
    assert unknown.value.status == 404
    mdapi.NamedCredential.create([named_credential(mdapi, "Pw", protocol="Password", authProvider=None)])
    with pytest.raises(ApiError) as not_oauth:
        metadata_api.authorize_named_credential(md_org, "Pw")
    assert not_oauth.value.status == 400


# ---- CustomSite --------------------------------------------------------------------------------------------


def test_custom_site_needs_a_registered_site_domain(mdapi: Any, md_org: Org) -> None:
    md_org.settings["site_domain_registered"] = False
    results = save(mdapi, "createMetadata", [custom_site(mdapi)])
    assert results[0].success is False and "register" in results[0].errors[0].message
    assert md_org.sobject_find("Site") == []
    md_org.settings["site_domain_registered"] = True
    assert save(mdapi, "createMetadata", [custom_site(mdapi)])[0].success


def test_custom_site_creates_its_guest_user_with_the_guest_profile(mdapi: Any, md_org: Org) -> None:
    mdapi.CustomSite.create([custom_site(mdapi)])
    site = md_org.sobject_find("Site", Name="VoiceConnector")[0]
    assert site["Status"] == "Active"
    guest = md_org.sobject_get("User", site["GuestUserId"])
    assert guest is not None
    assert (guest["UserType"], guest["IsActive"], guest["Name"]) == (
        "Guest",
        True,
        "VoiceConnector Site Guest User",
    )
    profile = md_org.sobject_get("Profile", guest["ProfileId"])
    assert profile is not None and profile["Name"] == "VoiceConnector Profile"
    license_ = md_org.sobject_get("UserLicense", profile["UserLicenseId"])
    assert license_ is not None and license_["Name"] == "Guest User License"
    assert mdapi.CustomSite.read(["VoiceConnector"]).guestProfile == "VoiceConnector Profile"


def test_custom_site_admin_and_record_owner_must_be_existing_users(mdapi: Any, md_org: Org) -> None:
    results = save(mdapi, "createMetadata", [custom_site(mdapi, siteAdmin="nobody@example.com")])
    assert results[0].errors[0].fields == ["siteAdmin"]
    assert md_org.sobject_find("Site") == []


def test_deactivating_or_deleting_a_site_deactivates_but_keeps_its_guest_user(
    mdapi: Any, md_org: Org
) -> None:
    mdapi.CustomSite.create([custom_site(mdapi)])
    guest_id = md_org.sobject_find("Site", Name="VoiceConnector")[0]["GuestUserId"]
    mdapi.CustomSite.update([custom_site(mdapi, active=False)])
    assert md_org.sobject_find("Site", Name="VoiceConnector")[0]["Status"] == "Inactive"
    assert md_org.sobject_get("User", guest_id)["IsActive"] is False  # type: ignore[index]
    mdapi.CustomSite.update([custom_site(mdapi, active=True)])
    assert md_org.sobject_get("User", guest_id)["IsActive"] is True  # type: ignore[index]
    mdapi.CustomSite.delete(["VoiceConnector"])
    assert md_org.sobject_find("Site") == []
    assert md_org.sobject_get("User", guest_id)["IsActive"] is False  # type: ignore[index]


def test_two_sites_cannot_share_a_url_path_prefix(mdapi: Any, md_org: Org) -> None:
    mdapi.CustomSite.create([custom_site(mdapi)])
    clash = save(mdapi, "createMetadata", [custom_site(mdapi, "Second_Site")])
    assert clash[0].errors[0].message == "A site with those parameters is already in use."
    assert save(mdapi, "createMetadata", [custom_site(mdapi, "Second_Site", urlPathPrefix="second")])[
        0
    ].success
    assert {r["UrlPathPrefix"] for r in md_org.sobject_find("Site")} == {None, "second"}


def test_an_org_holds_at_most_25_sites(mdapi: Any, md_org: Org) -> None:
    # Help 000385602: Enterprise/Unlimited orgs may create up to 25 sites (one guest license each).
    sites = [custom_site(mdapi, f"Site_{n}", urlPathPrefix=f"s{n}") for n in range(25)]
    for start in range(0, 25, 10):
        mdapi.CustomSite.create(sites[start : start + 10])
    over = save(mdapi, "createMetadata", [custom_site(mdapi, "Site_26", urlPathPrefix="s26")])
    assert over[0].errors[0].statusCode == "LIMIT_EXCEEDED"
    assert len(md_org.sobject_find("Site")) == 25


# ---- PermissionSet -----------------------------------------------------------------------------------------


def test_seeded_permission_sets_are_visible_as_metadata(mdapi: Any) -> None:
    read = mdapi.PermissionSet.read(["Voice_Connector_Permission", "Einstein_Conversation_Insights"])
    assert [(r.fullName, r.label) for r in read] == [
        ("Voice_Connector_Permission", "Voice Connector Permission"),
        ("Einstein_Conversation_Insights", "Einstein Conversation Insights"),
    ]
    listed = {p.fullName for p in mdapi.list_metadata([mdapi.ListMetadataQuery(type="PermissionSet")])}
    assert {"Voice_Connector_Permission", "Conversation_Insights_Integration_User"} <= listed


def test_new_permission_set_gets_its_sobject_row_and_an_assigned_one_cannot_be_deleted(
    mdapi: Any, md_org: Org
) -> None:
    mdapi.PermissionSet.create([mdapi.PermissionSet(fullName="ECI_Extra", label="ECI Extra")])
    row = md_org.sobject_find("PermissionSet", Name="ECI_Extra")[0]
    assert row["Label"] == "ECI Extra"
    md_org.sobject_insert(
        "PermissionSetAssignment", {"PermissionSetId": row["Id"], "AssigneeId": md_org.admin_user_id()}
    )
    with pytest.raises(Exception, match="DELETE_FAILED"):
        mdapi.PermissionSet.delete(["ECI_Extra"])
    md_org.sobject_delete("PermissionSetAssignment", md_org.sobject_find("PermissionSetAssignment")[0]["Id"])
    mdapi.PermissionSet.delete(["ECI_Extra"])
    assert md_org.sobject_find("PermissionSet", Name="ECI_Extra") == []


# ---- External client apps ----------------------------------------------------------------------------------


def _eca(mdapi: Any, name: str = "ECI_External_App") -> list[Any]:
    return [
        mdapi.ExternalClientApplication(
            fullName=name,
            label="ECI External App",
            contactEmail="admin@example.com",
            distributionState="Local",
        )
    ]


def _global_oauth(mdapi: Any, app: str = "ECI_External_App", **extra: Any) -> Any:
    return mdapi.ExtlClntAppGlobalOauthSettings(
        fullName=f"{app}_glbloauth", externalClientApplication=app, callbackUrl="https://x/cb", **extra
    )


def test_external_client_app_can_be_created_while_connected_apps_are_blocked(mdapi: Any, md_org: Org) -> None:
    md_org.settings["connected_app_creation_allowed"] = False
    mdapi.ExternalClientApplication.create(_eca(mdapi))
    mdapi.ExtlClntAppOauthSettings.create(
        [
            mdapi.ExtlClntAppOauthSettings(
                fullName="ECI_External_App_oauth",
                externalClientApplication="ECI_External_App",
                commaSeparatedOauthScopes="Api,Web,RefreshToken,Content",
            )
        ]
    )
    mdapi.ExtlClntAppGlobalOauthSettings.create([_global_oauth(mdapi)])
    mdapi.ExtlClntAppOauthConfigurablePolicies.create(
        [
            mdapi.ExtlClntAppOauthConfigurablePolicies(
                fullName="ECI_External_App_plcy",
                externalClientApplication="ECI_External_App",
                permittedUsersPolicyType="AdminApprovedPreAuthorized",
                commaSeparatedProfile="Standard User,System Administrator",
            )
        ]
    )
    assert mdapi.ExternalClientApplication.read(["ECI_External_App"]).label == "ECI External App"


def test_eca_settings_must_name_an_existing_app(mdapi: Any) -> None:
    results = save(mdapi, "createMetadata", [_global_oauth(mdapi, "Missing_App")])
    assert results[0].errors[0].statusCode == "INVALID_CROSS_REFERENCE_KEY"
    assert results[0].errors[0].fields == ["externalClientApplication"]


def test_eca_global_oauth_settings_generate_credentials_hide_the_secret_and_rotate(
    mdapi: Any, md_org: Org
) -> None:
    mdapi.ExternalClientApplication.create(_eca(mdapi))
    mdapi.ExtlClntAppGlobalOauthSettings.create([_global_oauth(mdapi)])
    read = mdapi.ExtlClntAppGlobalOauthSettings.read(["ECI_External_App_glbloauth"])
    assert read.consumerKey.startswith("3MVG9") and read.consumerSecret is None
    app_id = md_org.metadata_get("ExternalClientApplication", "ECI_External_App")["_id"]  # type: ignore[index]
    before = _credentials(md_org, app_id)
    assert before["key"] == read.consumerKey
    mdapi.ExtlClntAppGlobalOauthSettings.update([_global_oauth(mdapi, shouldRotateConsumerSecret=True)])
    after = _credentials(md_org, app_id)
    assert after["key"] == before["key"] and after["secret"] != before["secret"]


def test_eca_with_settings_cannot_be_deleted_before_its_settings(mdapi: Any) -> None:
    mdapi.ExternalClientApplication.create(_eca(mdapi))
    mdapi.ExtlClntAppGlobalOauthSettings.create([_global_oauth(mdapi)])
    with pytest.raises(Exception, match="DELETE_FAILED"):
        mdapi.ExternalClientApplication.delete(["ECI_External_App"])
    mdapi.ExtlClntAppGlobalOauthSettings.delete(["ECI_External_App_glbloauth"])
    mdapi.ExternalClientApplication.delete(["ECI_External_App"])
