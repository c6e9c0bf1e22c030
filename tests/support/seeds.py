"""What an org holds before the stack ran (guide components made by hand or by another voice connector's
setup, a person's own user), made as an admin would: through the ordinary APIs (Metadata API ``sf.mdapi``,
REST, Connect REST), no back door into the emulator."""

from __future__ import annotations

from typing import Any

from devtools.sf_emulator.client import EmulatorHandle


def colleague_session(org: EmulatorHandle, first_name: str = "Jane", last_name: str = "Admin") -> str:
    """A session of another System Administrator of the org (a colleague working in Setup): what she makes
    is created by her, not by the user the stack connects as. Her session comes from the refresh token her
    browser login would have given (the OAuth refresh-token grant)."""
    sf = org.sf()
    profile = sf.query("SELECT Id FROM Profile WHERE Name = 'System Administrator'")["records"][0]["Id"]
    username = f"{first_name}.{last_name}@colleague.example".lower()
    sf.User.create(
        {"Username": username, "Email": username, "FirstName": first_name, "LastName": last_name,
         "Alias": first_name[:8].lower(), "TimeZoneSidKey": "Europe/Paris", "LocaleSidKey": "en_US",
         "LanguageLocaleKey": "en_US", "EmailEncodingKey": "UTF-8", "ProfileId": profile}
    )  # fmt: skip
    token = org.session().post(
        f"{org.instance_url}/services/oauth2/token",
        data={"grant_type": "refresh_token", "client_id": "PlatformCLI",
              "refresh_token": org.refresh_token(username=username)},
        timeout=30,
    )  # fmt: skip
    token.raise_for_status()
    return str(token.json()["access_token"])


def aircall_named_credential_by_hand(org: EmulatorHandle, session_id: str | None = None) -> None:
    """The guide's `Aircall` named credential, with an admin's own (older) values; made by the user whose
    session is given (default: the admin the stack connects as)."""
    md = org.mdapi(session_id)
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


def connected_app_by_hand(org: EmulatorHandle, contact_email: str = "old@example.com", **oauth: Any) -> None:
    """`ECI_Connected_App` made in Setup; `oauth`: its ConnectedAppOauthConfig fields (an admin's own callback
    URL and scope unless given; a consumer key and secret only when given)."""
    md = org.mdapi()
    config = {"callbackUrl": "https://x.example/cb", "scopes": ["Api"], **oauth}
    md.ConnectedApp.create(
        md.ConnectedApp(fullName="ECI_Connected_App", label="ECI Connected App", contactEmail=contact_email,
                        oauthConfig=md.ConnectedAppOauthConfig(**config))
    )  # fmt: skip


def external_client_app_by_hand(org: EmulatorHandle, app: dict[str, Any] | None = None, **oauth: Any) -> None:
    """`ECI_Connected_App` as an external client app made in Setup: the app (`app`: more of its fields) and
    its global OAuth settings (`oauth`: ExtlClntAppGlobalOauthSettings fields, e.g. consumerKey)."""
    md = org.mdapi()
    fields = {"fullName": "ECI_Connected_App", "label": "ECI Connected App", **(app or {})}
    md.ExternalClientApplication.create(md.ExternalClientApplication(**fields))
    md.ExtlClntAppGlobalOauthSettings.create(
        md.ExtlClntAppGlobalOauthSettings(**{
            "fullName": "ECI_Connected_App_glbloauth", "externalClientApplication": "ECI_Connected_App",
            "label": "g", "callbackUrl": "https://x.example/cb", **oauth,
        })
    )  # fmt: skip


def site_by_hand(org: EmulatorHandle, **fields: Any) -> None:
    """A Visualforce site made in Setup, `VoiceConnector` unless `fullName` says otherwise (Salesforce creates
    its guest user with it)."""
    name = fields.pop("fullName", "VoiceConnector")
    md = org.mdapi()
    md.CustomSite.create(
        md.CustomSite(**{
            "fullName": name, "masterLabel": name, "active": True, "indexPage": "SiteLogin",
            "clickjackProtectionLevel": "SameOriginOnly", "siteType": "Visualforce", "allowHomePage": True,
            "allowStandardIdeasPages": True, "allowStandardLookups": True, "allowStandardPortalPages": True,
            "allowStandardSearch": True, "browserXssProtection": True, "contentSniffingProtection": True,
            "referrerPolicyOriginWhenCrossOrigin": True, **fields,
        })
    )  # fmt: skip


def eci_named_credential_by_hand(org: EmulatorHandle, **fields: Any) -> None:
    """The guide's `ECI_Named_Credential` made in Setup: OAuth to the org through `ECI_Auth_Provider` (which
    must exist)."""
    md = org.mdapi()
    md.NamedCredential.create(
        md.NamedCredential(**{
            "fullName": "ECI_Named_Credential", "label": "ECI Named Credential",
            "endpoint": f"{org.instance_url}/", "principalType": "NamedUser", "protocol": "Oauth",
            "authProvider": "ECI_Auth_Provider", "oauthScope": "refresh_token web api content",
            "generateAuthorizationHeader": True, **fields,
        })
    )  # fmt: skip


def seed_shared_eci(org: EmulatorHandle) -> None:
    """What an earlier voice connector's setup leaves in the org (the guide's shared tasks), done as an admin
    would: Metadata API for the connected app, auth provider, site and named credential; REST for the guest
    user and its permission sets."""
    sf = org.sf()
    callback = f"{org.instance_url}/services/authcallback/ECI_Auth_Provider"
    scopes = ["Content", "Api", "Web", "RefreshToken"]
    connected_app_by_hand(org, "other-connector@acme.example", callbackUrl=callback, scopes=scopes)
    creds = consumer_credentials(org)
    auth_provider_by_hand(
        org, friendlyName="ECI Auth Provider", consumerKey=creds["key"], consumerSecret=creds["secret"]
    )
    site_by_hand(org, siteAdmin=org.username, siteGuestRecordDefaultOwner=org.username)
    eci_named_credential_by_hand(org, endpoint=org.instance_url)
    guest_id = sf.query("SELECT GuestUserId FROM Site WHERE Name = 'VoiceConnector'")["records"][0][
        "GuestUserId"
    ]
    sf.User.update(guest_id, {"IsActive": True})
    for name in ("Voice_Connector_Permission", "Conversation_Insights_Integration_User"):
        ps_id = sf.query(f"SELECT Id FROM PermissionSet WHERE Name = '{name}'")["records"][0]["Id"]
        sf.PermissionSetAssignment.create({"AssigneeId": guest_id, "PermissionSetId": ps_id})


def eci_connected_app_id(org: EmulatorHandle) -> str:
    """The Id of the `ECI Connected App` ConnectedApplication row."""
    rows = org.sf().query("SELECT Id FROM ConnectedApplication WHERE Name = 'ECI Connected App'")["records"]
    return str(rows[0]["Id"])


def consumer_credentials(org: EmulatorHandle, app_id: str | None = None) -> dict[str, str]:
    """Setup's "Manage Consumer Details" of an app (the ECI connected app unless `app_id` names another),
    through its API (Connect REST OAuth credentials): {"key", "secret"}."""
    app_id = app_id or eci_connected_app_id(org)
    session = org.session()
    session.headers["Authorization"] = f"Bearer {org.access_token}"
    base = f"{org.instance_url}/services/data/v63.0/apps/oauth/credentials/{app_id}"
    consumers = session.get(base, timeout=30).json()
    consumer_id = consumers["consumers"][0]["id"] if "consumers" in consumers else consumers[0]["id"]
    body = session.get(f"{base}/{consumer_id}", params={"part": "keyandsecret"}, timeout=30).json()
    return {"key": body["key"], "secret": body["secret"]}


def person_by_hand(org: EmulatorHandle, username: str, **fields: Any) -> str:
    """Someone's own account under `username` (a rep, made in Setup); `fields`: more User fields. Its Id."""
    sf = org.sf()
    profile = sf.query("SELECT Id FROM Profile WHERE Name = 'Standard User'")["records"][0]["Id"]
    created = sf.User.create(
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
            **fields,
        }
    )
    return str(created["id"])
