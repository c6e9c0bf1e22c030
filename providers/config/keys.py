"""Every stack config key (namespace ``eci-aircall``), each declared once: name, description, where to get the
value, example, default, secret or not, check.

Everything else derives from these declarations: the program's parsing (``stack.py``), the providers'
connection settings (``connection.py``), every error hint that names a key, ``Pulumi.yaml``'s ``config``
block and the README's table (``make generate``; ``tests/test_generated.py`` fails when either is stale).
The transport (``salesforce``) sits below this package, so it is handed the connection keys
(:data:`CONNECTION`, a ``salesforce.settings.ConnectionKeys``) rather than importing them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

from salesforce.settings import ConnectionKeys, is_secure_url, spaced

NAMESPACE = "eci-aircall"

#: A value check: the problem with ``value`` in words ("is not an https:// URL"), or None when it is fine.
Check = Callable[[str], "str | None"]


@dataclass(frozen=True)
class ConfigKey:
    """One stack config key, declared once.

    ``name`` is what follows ``eci-aircall:``; ``a.b`` is field ``b`` of the structured key ``a`` (set with
    ``pulumi config set --path``). ``default`` "" means "not set" (see Pulumi.yaml on why every key has one).
    """

    name: str
    description: str
    #: Where the value comes from (guide section or tool), quoted in every error about the key.
    source: str
    example: str = "<value>"
    default: str | bool | tuple[str, ...] = ""
    secret: bool = False
    required: bool = False
    check: Check | None = None
    #: The value may span lines (a PEM key or certificate); any other key refuses a CR or LF.
    multiline: bool = False

    @property
    def full_name(self) -> str:
        return f"{NAMESPACE}:{self.name}"

    @property
    def top(self) -> str:
        """The key Pulumi stores (the structured key for ``a.b``)."""
        return self.name.split(".")[0]

    @property
    def top_full_name(self) -> str:
        """``eci-aircall:<top>``: how to name the whole structured key."""
        return f"{NAMESPACE}:{self.top}"

    @property
    def attribute(self) -> str:
        """The Python name of the value: ``integrationUser.timeZone`` → ``time_zone``."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.name.rsplit(".", 1)[-1]).lower()

    @property
    def type(self) -> Literal["string", "boolean", "array"]:
        if isinstance(self.default, bool):
            return "boolean"
        return "array" if isinstance(self.default, tuple) else "string"

    def set_command(self) -> str:
        """The exact command that sets the key.

        A secret's value never goes on the command line (`ps` shows every process's arguments): with the
        value left out, `pulumi config set` reads it from standard input when that is not a terminal, and
        otherwise prompts for it without echo (pulumi/pulumi pkg/cmd/pulumi/config/config.go,
        ``configSetCmd.Run``). So a secret's example is a redirect (``< server.key``) or a pipe from an
        environment variable named after the key."""
        path = " --path" if "." in self.name else ""
        if not self.secret:
            return f"pulumi config set{path} {self.full_name} {self.example}"
        if self.example.startswith("<") and not self.example.startswith("< "):
            pipe = f'printf %s "${self.attribute.upper()}" |'
            return f"{pipe} pulumi config set --secret{path} {self.full_name}"
        return f"pulumi config set --secret{path} {self.full_name} {self.example}".rstrip()

    def problem(self, what: str) -> str:
        """One configuration problem: the key, what is wrong, the command that fixes it and where to look."""
        return f"{self.full_name} {what}: run `{self.set_command()}` ({self.source})"


# --- value checks. None of them quotes the value: some are secrets.
_USERNAME = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def https_url(value: str) -> str | None:
    # The transport's own rule (https, or plain http to loopback only: the emulator, a local proxy), so a
    # URL the config accepts is one the transport sends to.
    if spaced(value):
        return "is not an https:// URL (it contains whitespace or a line break)"
    return None if is_secure_url(value) else "is not an https:// URL"


def salesforce_username(value: str) -> str | None:
    # Salesforce usernames are "name@domain" shaped; the check Setup applies up front (a stricter RFC 5322
    # parse would reject nothing Salesforce accepts and add a dependency).
    return None if _USERNAME.match(value) else "is not a Salesforce username (name@domain)"


def email_address(value: str) -> str | None:
    return None if _USERNAME.match(value) else "is not an email address"


def api_version(value: str) -> str | None:
    return None if re.fullmatch(r"\d{2,3}\.0", value) else "is not a Salesforce API version like 63.0"


def private_key(value: str) -> str | None:
    return None if "PRIVATE KEY-----" in value else "is not a PEM private key"


def sfdx_auth_url(value: str) -> str | None:
    return None if value.startswith("force://") else "is not an SFDX auth URL (it starts with force://)"


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


# --- The connection: EITHER targetOrg (a Salesforce CLI login, asked for a session at run time), OR
# instanceUrl + accessToken, OR sfdxAuthUrl, OR JWT bearer (username, clientId, privateKey, loginUrl).
# Each key's attribute name is the ``salesforce.settings.ConnectionSettings`` field it fills.
TARGET_ORG = ConfigKey(
    "targetOrg",
    "Alias or username of an org the Salesforce CLI is logged in to (`sf org login web --alias uat`). The "
    "provider asks the CLI for a session (`sf org display`, `sf org auth show-access-token`) each time it "
    "runs, so no "
    "credential is stored in the stack or its state and `pulumi refresh` / `pulumi destroy` keep working "
    "after a token expires.",
    source="an alias or username from `sf org list` (`sf org login web --alias <alias>`)",
    example="uat",
)
INSTANCE_URL = ConfigKey(
    "instanceUrl",
    "The org's instance (My Domain) URL, e.g. https://acme.my.salesforce.com (`sf org display --json` -> "
    "result.instanceUrl). Needed with accessToken.",
    source="`sf org display --json` → result.instanceUrl",
    example="https://mydomain.my.salesforce.com",
    check=https_url,
)
ACCESS_TOKEN = ConfigKey(
    "accessToken",
    # Salesforce CLI 2.x hides secrets from `org display` ("Secrets are now hidden from 'sf org display'
    # command output. Use the 'sf org auth' commands instead": plugin-org, messages/secrets-redacted.md).
    "A session/access token for the org (`sf org auth show-access-token --json` -> result.accessToken).",
    source="`sf org auth show-access-token --json` → result.accessToken",
    example="<access token>",
    secret=True,
)
SFDX_AUTH_URL = ConfigKey(
    "sfdxAuthUrl",
    "An SFDX auth URL, force://... (`sf org auth show-sfdx-auth-url --json` -> result.sfdxAuthUrl); "
    "refreshes its own session.",
    source="`sf org auth show-sfdx-auth-url --json` → result.sfdxAuthUrl",
    example="force://<clientId>::<refreshToken>@<instance>",
    secret=True,
    check=sfdx_auth_url,
)
USERNAME = ConfigKey(
    "username",
    "JWT bearer login (CI) - the Salesforce username to log in as.",
    source="the Salesforce username the JWT bearer flow logs in as",
    example="ci-bot@example.com",
    check=salesforce_username,
)
CLIENT_ID = ConfigKey(
    "clientId",
    "JWT bearer login - the consumer key of the connected app that holds the certificate.",
    source="the consumer key of the connected app registered for JWT bearer",
    example="<consumer key>",
)
PRIVATE_KEY = ConfigKey(
    "privateKey",
    "JWT bearer login - the PEM private key matching that certificate "
    "(`pulumi config set --secret eci-aircall:privateKey < server.key`).",
    source="the PEM private key whose certificate is on that connected app",
    example="< server.key",
    secret=True,
    check=private_key,
    multiline=True,
)
LOGIN_URL = ConfigKey(
    "loginUrl",
    "JWT bearer login - https://login.salesforce.com, https://test.salesforce.com or your My Domain.",
    source="https://login.salesforce.com, https://test.salesforce.com or your My Domain URL",
    example="https://login.salesforce.com",
    default="https://login.salesforce.com",
    check=https_url,
)
CA_BUNDLE = ConfigKey(
    "caBundle",
    "Optional PEM file of extra CA certificates to trust (TLS-intercepting proxies, the emulator).",
    source="a PEM file of extra CA certificates (only for TLS-intercepting proxies)",
    example="/path/to/ca.pem",
    multiline=True,  # a path, or the PEM text itself
)
API_VERSION = ConfigKey(
    "apiVersion",
    "Salesforce API version used for REST and the Metadata API.",
    source="the Salesforce API version, e.g. 63.0",
    example="63.0",
    default="63.0",
    check=api_version,
)
CONNECTION_KEYS: tuple[ConfigKey, ...] = (
    TARGET_ORG,
    INSTANCE_URL,
    ACCESS_TOKEN,
    SFDX_AUTH_URL,
    USERNAME,
    CLIENT_ID,
    PRIVATE_KEY,
    LOGIN_URL,
    CA_BUNDLE,
    API_VERSION,
)
#: The same keys as the transport names them in its errors (by the settings field each fills).
CONNECTION = ConnectionKeys(**{key.attribute: key for key in CONNECTION_KEYS})
#: The JWT bearer login's keys (all three needed).
JWT_KEYS: tuple[ConfigKey, ...] = (USERNAME, CLIENT_ID, PRIVATE_KEY)

# --- The program's own keys.
SharedEci = Literal["create", "adopt", "skip"]
OAuthAppKind = Literal["connectedApp", "externalClientApp"]

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
INTEGRATION_USER_USERNAME = ConfigKey(
    "integrationUser.username",
    "Username of the dedicated integration user (name@domain, unique across all orgs).",
    source=_USER,
    example="eci-aircall@example.com",
    required=True,
    check=salesforce_username,
)
INTEGRATION_USER_EMAIL = ConfigKey(
    "integrationUser.email",
    "Email of the integration user; empty means contactEmail.",
    source=_USER,
    example="admin@example.com",
    check=email_address,
)
INTEGRATION_USER_FIRST_NAME = ConfigKey(
    "integrationUser.firstName",
    "First name of the integration user.",
    source=_USER,
    example="ECI",
    default="ECI",
)
INTEGRATION_USER_LAST_NAME = ConfigKey(
    "integrationUser.lastName",
    "Last name of the integration user.",
    source=_USER,
    example="'Aircall Integration'",
    default="Aircall Integration",
)
INTEGRATION_USER_ALIAS = ConfigKey(
    "integrationUser.alias",
    "Alias (at most 8 characters); empty means derived from the username.",
    source=_USER,
    example="eciair",
    check=at_most_8,
)
INTEGRATION_USER_TIME_ZONE = ConfigKey(
    "integrationUser.timeZone",
    "Time zone (TimeZoneSidKey) of the integration user.",
    source=_USER,
    example="America/Los_Angeles",
    default="America/Los_Angeles",
)
INTEGRATION_USER_LOCALE = ConfigKey(
    "integrationUser.locale",
    "Locale (LocaleSidKey) of the integration user.",
    source=_USER,
    example="en_US",
    default="en_US",
)
INTEGRATION_USER_PROFILE = ConfigKey(
    "integrationUser.profile",
    "Profile of the integration user (the guide requires System Administrator).",
    source=_USER,
    example="'System Administrator'",
    default="System Administrator",
)
INTEGRATION_USER_ADOPT_EXISTING = ConfigKey(
    "integrationUser.adoptExisting",
    "Use a user that already exists under that username (not created by this stack) as it is: its "
    "profile, email and name are never changed, and destroy leaves it as it was. Without it such a "
    "username is refused before anything is written. Never the user the stack connects as.",
    source=_USER,
    example="true",
    default=False,
    check=boolean,
)
INTEGRATION_USER_SEND_PASSWORD_RESET = ConfigKey(
    "integrationUser.sendPasswordReset",
    "Have Salesforce email the integration user a password reset when the stack creates it (REST "
    "DELETE /sobjects/User/{id}/password), so the one manual step can log in as it. The temporary password "
    "Salesforce answers with is thrown away unread. Never for a user the stack adopted.",
    source="REST API Developer Guide: Reset User Password",
    example="true",
    default=False,
    check=boolean,
)
INTEGRATION_USER_KEYS = (
    INTEGRATION_USER_USERNAME,
    INTEGRATION_USER_EMAIL,
    INTEGRATION_USER_FIRST_NAME,
    INTEGRATION_USER_LAST_NAME,
    INTEGRATION_USER_ALIAS,
    INTEGRATION_USER_TIME_ZONE,
    INTEGRATION_USER_LOCALE,
    INTEGRATION_USER_PROFILE,
    INTEGRATION_USER_ADOPT_EXISTING,
    INTEGRATION_USER_SEND_PASSWORD_RESET,
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
PERMISSION_SET_ECI_ACCESS = ConfigKey(
    "permissionSets.eciAccess",
    "API name or label of the ECI access permission set assigned to the integration user.",
    source=_PERMISSION_SETS,
    example="Einstein_Conversation_Insights",
    default="Einstein_Conversation_Insights",
)
PERMISSION_SET_INTEGRATION_USER = ConfigKey(
    "permissionSets.integrationUser",
    'The "Conversation Insights Integration User" permission set (integration user and site guest user).',
    source=_PERMISSION_SETS,
    example="Conversation_Insights_Integration_User",
    default="Conversation_Insights_Integration_User",
)
PERMISSION_SET_VOICE_CONNECTOR = ConfigKey(
    "permissionSets.voiceConnector",
    'The "Voice Connector Permission" permission set assigned to the site guest user.',
    source=_PERMISSION_SETS,
    example="Voice_Connector_Permission",
    default="Voice_Connector_Permission",
)
PERMISSION_SET_KEYS = (
    PERMISSION_SET_ECI_ACCESS,
    PERMISSION_SET_INTEGRATION_USER,
    PERMISSION_SET_VOICE_CONNECTOR,
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
