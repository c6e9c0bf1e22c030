"""What an org holds before the stack ran (guide components made by hand or by another voice connector's
setup, a person's own user), made as an admin would: through the ordinary APIs (Metadata API ``sf.mdapi``,
REST, Connect REST), no back door into the emulator."""

from __future__ import annotations

from typing import Any

from devtools.sf_emulator.client import EmulatorHandle


def aircall_named_credential_by_hand(org: EmulatorHandle) -> None:
    """The guide's `Aircall` named credential, with an admin's own (older) values."""
    md = org.mdapi()
    md.NamedCredential.create(
        md.NamedCredential(fullName="Aircall", label="Old", endpoint="https://old.example/",
                           protocol="Password", principalType="NamedUser", username="old",
                           password="old-password")
    )  # fmt: skip


def auth_provider_by_hand(org: EmulatorHandle, **fields: Any) -> None:
    """The guide's `ECI_Auth_Provider`, as another voice connector's setup left it."""
    md = org.mdapi()
    md.AuthProvider.create(
        md.AuthProvider(**{"fullName": "ECI_Auth_Provider", "friendlyName": "Old name",
                           "providerType": "Salesforce", "consumerKey": "old-key-123456",
                           "consumerSecret": "old-secret-123456", **fields})
    )  # fmt: skip


def seed_shared_eci(org: EmulatorHandle) -> None:
    """What an earlier voice connector's setup leaves in the org (the guide's shared tasks), done as an admin
    would: Metadata API for the connected app, auth provider, site and named credential; REST for the guest
    user and its permission sets."""
    sf = org.sf()
    md = org.mdapi()
    callback = f"{org.instance_url}/services/authcallback/ECI_Auth_Provider"
    md.ConnectedApp.create(
        md.ConnectedApp(
            fullName="ECI_Connected_App",
            label="ECI Connected App",
            contactEmail="other-connector@acme.example",
            oauthConfig=md.ConnectedAppOauthConfig(
                callbackUrl=callback, scopes=["Content", "Api", "Web", "RefreshToken"]
            ),
        )
    )
    app_id = sf.query("SELECT Id FROM ConnectedApplication WHERE Name = 'ECI Connected App'")["records"][0][
        "Id"
    ]
    creds = consumer_credentials(org, app_id)
    md.AuthProvider.create(
        md.AuthProvider(
            fullName="ECI_Auth_Provider",
            friendlyName="ECI Auth Provider",
            providerType="Salesforce",
            consumerKey=creds["key"],
            consumerSecret=creds["secret"],
        )
    )
    md.CustomSite.create(
        md.CustomSite(
            fullName="VoiceConnector",
            masterLabel="VoiceConnector",
            active=True,
            indexPage="SiteLogin",
            clickjackProtectionLevel="SameOriginOnly",
            siteAdmin=org.username,
            siteGuestRecordDefaultOwner=org.username,
            siteType="Visualforce",
            allowHomePage=True,
            allowStandardIdeasPages=True,
            allowStandardLookups=True,
            allowStandardPortalPages=True,
            allowStandardSearch=True,
            browserXssProtection=True,
            contentSniffingProtection=True,
            referrerPolicyOriginWhenCrossOrigin=True,
        )
    )
    md.NamedCredential.create(
        md.NamedCredential(
            fullName="ECI_Named_Credential",
            label="ECI Named Credential",
            endpoint=org.instance_url,
            principalType="NamedUser",
            protocol="Oauth",
            authProvider="ECI_Auth_Provider",
            oauthScope="refresh_token web api content",
            generateAuthorizationHeader=True,
        )
    )
    guest_id = sf.query("SELECT GuestUserId FROM Site WHERE Name = 'VoiceConnector'")["records"][0][
        "GuestUserId"
    ]
    sf.User.update(guest_id, {"IsActive": True})
    for name in ("Voice_Connector_Permission", "Conversation_Insights_Integration_User"):
        ps_id = sf.query(f"SELECT Id FROM PermissionSet WHERE Name = '{name}'")["records"][0]["Id"]
        sf.PermissionSetAssignment.create({"AssigneeId": guest_id, "PermissionSetId": ps_id})


def consumer_credentials(org: EmulatorHandle, app_id: str) -> dict[str, str]:
    """Setup's "Manage Consumer Details", through its API (Connect REST OAuth credentials)."""
    session = org.session()
    session.headers["Authorization"] = f"Bearer {org.access_token}"
    base = f"{org.instance_url}/services/data/v63.0/apps/oauth/credentials/{app_id}"
    consumers = session.get(base, timeout=30).json()
    consumer_id = consumers["consumers"][0]["id"] if "consumers" in consumers else consumers[0]["id"]
    body = session.get(f"{base}/{consumer_id}", params={"part": "keyandsecret"}, timeout=30).json()
    return {"key": body["key"], "secret": body["secret"]}


def person_by_hand(org: EmulatorHandle, username: str) -> None:
    """Someone's own account under `username` (a rep, made in Setup)."""
    sf = org.sf()
    profile = sf.query("SELECT Id FROM Profile WHERE Name = 'Standard User'")["records"][0]["Id"]
    sf.User.create(
        {
            "Username": username,
            "Email": "a.rep@demo.example",
            "LastName": "Rep",
            "Alias": "arep",
            "TimeZoneSidKey": "Europe/Paris",
            "LocaleSidKey": "fr_FR",
            "LanguageLocaleKey": "fr",
            "EmailEncodingKey": "UTF-8",
            "ProfileId": profile,
        }
    )
