"""The stack config keys (namespace ``eci-aircall``), each declared once: name, description, where to get
the value, example, default, secret or not, check.

The connection keys are the transport's (``salesforce.settings.CONNECTION_KEYS``); the program's own keys are
declared here, below the component, so that providers can name a key in an error hint without spelling it.
``components/config.py`` parses and validates them, and ``Pulumi.yaml``'s ``config`` block is generated from
them (``make generate``; a test fails when it is stale).
"""

from __future__ import annotations

import json
from typing import Literal, get_args

from salesforce.settings import (
    CONNECTION_KEYS,
    Check,
    ConfigKey,
    email_address,
    https_url,
    salesforce_username,
)

SharedEci = Literal["create", "adopt", "skip"]
OAuthAppKind = Literal["connectedApp", "externalClientApp"]


def one_of(*choices: str) -> Check:
    wording = f"one of {', '.join(choices)}" if len(choices) > 2 else " or ".join(choices)

    def check(value: str) -> str | None:
        return None if value in choices else f"must be {wording}"

    return check


def boolean(value: str) -> str | None:
    return None if value.lower() in ("true", "false") else "must be true or false"


def string_list(value: str) -> str | None:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, list) and parsed and all(isinstance(p, str) and p.strip() for p in parsed):
        return None
    return "must be a non-empty list of profile names"


def at_most_8(value: str) -> str | None:
    # Salesforce: User.Alias is at most 8 characters (Object Reference, User).
    return "is longer than 8 characters (Salesforce's limit)" if len(value) > 8 else None


_AIRCALL_KEY = "guide: Generate the API Key for Aircall"
_USER = "guide: Log In as the Integration User"
_PERMISSION_SETS = "guide: Log In as the Integration User / Assign the Guest User Permission Set"

# --- Aircall (guide: Generate the API Key for Aircall, Add Aircall Named Credentials)
AIRCALL_API_ID = ConfigKey(
    "aircallApiId",
    "Aircall API ID (Aircall dashboard > Integrations & API > API Keys); the named credential's username.",
    source=f"{_AIRCALL_KEY} (API ID)",
    example="<api_id>",
    required=True,
)
AIRCALL_API_TOKEN = ConfigKey(
    "aircallApiToken",
    "Aircall API token (shown once when the key is generated); the named credential's password.",
    source=f"{_AIRCALL_KEY} (API Token)",
    example="<token>",
    secret=True,
    required=True,
)
AIRCALL_API_URL = ConfigKey(
    "aircallApiUrl",
    "Aircall public API base URL; preflight checks the API ID/token with GET {aircallApiUrl}/ping.",
    source="Aircall's public API base URL",
    # https://developer.aircall.io/api-references/#endpoint
    example="https://api.aircall.io/v1",
    default="https://api.aircall.io/v1",
    check=https_url,
)
AIRCALL_ENDPOINT = ConfigKey(
    "aircallEndpoint",
    "URL of the `Aircall` named credential (the guide's https://api.aircall.io/).",
    source="guide: Add Aircall Named Credentials (URL)",
    example="https://api.aircall.io/",
    default="https://api.aircall.io/",
    check=https_url,
)
ADOPT_AIRCALL_NAMED_CREDENTIAL = ConfigKey(
    "adoptAircallNamedCredential",
    "Take over an `Aircall` named credential that already exists in the org and was not created by this "
    "stack (one set up by hand from the guide): `up` brings it to the guide's settings and destroy keeps it. "
    "Without it such a credential is refused before anything is written.",
    source="guide: Add Aircall Named Credentials (a credential made earlier by hand)",
    example="true",
    default=False,
    check=boolean,
)
AIRCALL_KEYS = (
    AIRCALL_API_ID,
    AIRCALL_API_TOKEN,
    AIRCALL_API_URL,
    AIRCALL_ENDPOINT,
    ADOPT_AIRCALL_NAMED_CREDENTIAL,
)

# --- Salesforce side
ALLOW_PRODUCTION = ConfigKey(
    "allowProduction",
    "Let this stack configure a production org (one that is not a sandbox). A stack is bound to the org "
    "it first touches (its Organization Id is kept in the state, and every later preview, up, refresh or "
    "destroy whose login reaches another org is refused); when that org is production, this must be true.",
    source="Organization.IsSandbox of the org the login reaches (Preflight reads it)",
    example="true",
    default=False,
    check=boolean,
)
CONTACT_EMAIL = ConfigKey(
    "contactEmail",
    "Contact email of the ECI Connected App and the VoiceConnector site.",
    source="guide: Set Up the Connected App (Contact Email), Set Up the Salesforce Site",
    example="admin@example.com",
    required=True,
    check=email_address,
)
INTEGRATION_USER_KEYS = (
    ConfigKey(
        "integrationUser.username",
        "Username of the dedicated integration user (name@domain, unique across all orgs).",
        source=_USER,
        example="eci-aircall@example.com",
        required=True,
        check=salesforce_username,
    ),
    ConfigKey(
        "integrationUser.email",
        "Email of the integration user; empty means contactEmail.",
        source=_USER,
        example="admin@example.com",
        check=email_address,
    ),
    ConfigKey(
        "integrationUser.firstName",
        "First name of the integration user.",
        source=_USER,
        example="ECI",
        default="ECI",
    ),
    ConfigKey(
        "integrationUser.lastName",
        "Last name of the integration user.",
        source=_USER,
        example="'Aircall Integration'",
        default="Aircall Integration",
    ),
    ConfigKey(
        "integrationUser.alias",
        "Alias (at most 8 characters); empty means derived from the username.",
        source=_USER,
        example="eciair",
        check=at_most_8,
    ),
    ConfigKey(
        "integrationUser.timeZone",
        "Time zone (TimeZoneSidKey) of the integration user.",
        source=_USER,
        example="America/Los_Angeles",
        default="America/Los_Angeles",
    ),
    ConfigKey(
        "integrationUser.locale",
        "Locale (LocaleSidKey) of the integration user.",
        source=_USER,
        example="en_US",
        default="en_US",
    ),
    ConfigKey(
        "integrationUser.profile",
        "Profile of the integration user (the guide requires System Administrator).",
        source=_USER,
        example="'System Administrator'",
        default="System Administrator",
    ),
    ConfigKey(
        "integrationUser.adoptExisting",
        "Use a user that already exists under that username (not created by this stack) as it is: its "
        "profile, email and name are never changed, and destroy leaves it as it was. Without it such a "
        "username is refused before anything is written. Never the user the stack connects as.",
        source=_USER,
        example="true",
        default=False,
        check=boolean,
    ),
)
INTEGRATION_USER_USERNAME, *_, INTEGRATION_USER_PROFILE, INTEGRATION_USER_ADOPT_EXISTING = (
    INTEGRATION_USER_KEYS
)
SHARED_ECI = ConfigKey(
    "sharedEci",
    "create | adopt | skip - the connected app, auth provider, site, ECI named credential and guest-user "
    "permission sets are shared by every voice connector: create and manage them, adopt existing ones (kept "
    "on destroy), or skip them (only check they exist) when another voice connector configured them.",
    source="guide: Set Up the Connected App (skip if another voice connector is configured)",
    example="create",
    default="create",
    check=one_of(*get_args(SharedEci)),
)
#: The opt-in named when a shared ECI artifact exists that this stack did not create.
ADOPT_SHARED_HINT = (
    "another voice connector may use it: to manage it from this stack (up brings it to the guide's settings, "
    f"destroy keeps it) run `pulumi config set {SHARED_ECI.full_name} adopt`; to leave it as it is, "
    f"`pulumi config set {SHARED_ECI.full_name} skip`"
)
OAUTH_APP_KIND = ConfigKey(
    "oauthAppKind",
    "connectedApp | externalClientApp - use externalClientApp in orgs that block creating connected apps "
    "(every org since Spring '26 unless Salesforce Support re-enables it).",
    source="connectedApp, or externalClientApp where the org blocks creating connected apps",
    example="externalClientApp",
    default="connectedApp",
    check=one_of(*get_args(OAuthAppKind)),
)
CONNECTED_APP_PROFILES = ConfigKey(
    "connectedAppProfiles",
    "Profiles given access to the OAuth app (guide recommends Standard User and System Administrator).",
    source="guide: Set Up the Connected App, step 11 (Manage Profiles)",
    example='\'["Standard User","System Administrator"]\'',
    default=("Standard User", "System Administrator"),
    check=string_list,
)
PERMISSION_SET_KEYS = (
    ConfigKey(
        "permissionSets.eciAccess",
        "API name or label of the ECI access permission set assigned to the integration user.",
        source=_PERMISSION_SETS,
        example="Einstein_Conversation_Insights",
        default="Einstein_Conversation_Insights",
    ),
    ConfigKey(
        "permissionSets.integrationUser",
        'The "Conversation Insights Integration User" permission set (integration user and site guest user).',
        source=_PERMISSION_SETS,
        example="Conversation_Insights_Integration_User",
        default="Conversation_Insights_Integration_User",
    ),
    ConfigKey(
        "permissionSets.voiceConnector",
        'The "Voice Connector Permission" permission set assigned to the site guest user.',
        source=_PERMISSION_SETS,
        example="Voice_Connector_Permission",
        default="Voice_Connector_Permission",
    ),
)
SITE_ADMIN = ConfigKey(
    "siteAdmin",
    "Username of the VoiceConnector site's administrator; empty means the integration user.",
    source="guide: Set Up the Salesforce Site (site administrator)",
    example="admin@example.com",
    check=salesforce_username,
)
SITE_DEFAULT_RECORD_OWNER = ConfigKey(
    "siteDefaultRecordOwner",
    "Username of the site's default record owner (an admin is recommended); empty means the integration "
    "user.",
    source="guide: Set Up the Salesforce Site (Default Record Owner)",
    example="admin@example.com",
    check=salesforce_username,
)
DELETE_ADOPTED = ConfigKey(
    "deleteAdopted",
    "Whether `pulumi destroy` also deletes shared artifacts this stack adopted (kept by default).",
    source="whether `pulumi destroy` deletes shared artifacts that existed before this stack",
    example="false",
    default=False,
    check=boolean,
)
HEALTH_CHECKS = ConfigKey(
    "healthChecks",
    "Whether create and refresh prove the two named credentials work with a callout from inside the org "
    "(Tooling API executeAnonymous: needs Author Apex); false for orgs that forbid anonymous Apex.",
    source="whether the connecting user may run anonymous Apex (Preflight's anonymousApex output says)",
    example="true",
    default=True,
    check=boolean,
)
SALESFORCE_KEYS = (
    ALLOW_PRODUCTION,
    CONTACT_EMAIL,
    *INTEGRATION_USER_KEYS,
    SHARED_ECI,
    OAUTH_APP_KIND,
    CONNECTED_APP_PROFILES,
    *PERMISSION_SET_KEYS,
    SITE_ADMIN,
    SITE_DEFAULT_RECORD_OWNER,
    DELETE_ADOPTED,
    HEALTH_CHECKS,
)

#: Pulumi.yaml's sections, in order: (heading comment, keys).
SECTIONS: tuple[tuple[str, tuple[ConfigKey, ...]], ...] = (
    (
        "Connection to the org: EITHER targetOrg (the Salesforce CLI's login), OR instanceUrl + "
        "accessToken, OR sfdxAuthUrl, OR JWT (username, clientId, privateKey, loginUrl).",
        CONNECTION_KEYS,
    ),
    ("Aircall (guide: Generate the API Key for Aircall, Add Aircall Named Credentials)", AIRCALL_KEYS),
    ("Salesforce side", SALESFORCE_KEYS),
)
#: The program's own keys (the component's, not the connection's).
PROGRAM_KEYS: tuple[ConfigKey, ...] = (*AIRCALL_KEYS, *SALESFORCE_KEYS)
#: Every key the program reads, in declaration order.
KEYS: tuple[ConfigKey, ...] = tuple(key for _, keys in SECTIONS for key in keys)
BY_NAME: dict[str, ConfigKey] = {key.name: key for key in KEYS}


def key(name: str) -> ConfigKey:
    """The declaration of ``name`` (``integrationUser.profile`` for a field of a structured key)."""
    return BY_NAME[name]
