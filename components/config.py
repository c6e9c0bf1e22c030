"""The stack configuration (namespace ``eci-aircall``): read, default, validate.

Everything is checked before the component registers a single resource, so a bad or missing value costs no
Salesforce API call. All problems found are reported together in ONE :class:`ConfigError`, each naming the
key, what is wrong and the exact ``pulumi config set`` command (plus the guide section the value comes from).

Defaults are applied here as well as declared in ``Pulumi.yaml``: the real CLI serves project-level defaults
as config, but an engine that does not (or a key left at the ``""`` "unset" default that Pulumi.yaml needs for
optional keys, see the comment there) must behave identically.

Secret values (``accessToken``, ``sfdxAuthUrl``, ``privateKey``, ``aircallApiToken``) are only looked at to
check that they are present and well-formed; what the component receives is ``Config.get_secret``'s Output,
marked secret, and no error message ever quotes them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any, Literal, cast
from urllib.parse import urlparse

import pulumi
from pulumi.runtime.config import is_config_secret
from pydantic import BaseModel, ConfigDict, Field

NAMESPACE = "eci-aircall"

# Guide: "Log In as the Integration User", "Set Up the Connected App", "Assign the Guest User Permission Set".
DEFAULT_PROFILE = "System Administrator"
DEFAULT_CONNECTED_APP_PROFILES = ("Standard User", "System Administrator")
DEFAULT_PERMISSION_SETS = {
    "eciAccess": "Einstein_Conversation_Insights",
    "integrationUser": "Conversation_Insights_Integration_User",
    "voiceConnector": "Voice_Connector_Permission",
}
DEFAULT_API_VERSION = "63.0"
DEFAULT_LOGIN_URL = "https://login.salesforce.com"
# Aircall's public API base (https://developer.aircall.io/api-references/#endpoint); Preflight GETs {url}/ping
DEFAULT_AIRCALL_API_URL = "https://api.aircall.io/v1"
# Guide, "Add Aircall Named Credentials": URL https://api.aircall.io/
DEFAULT_AIRCALL_ENDPOINT = "https://api.aircall.io/"
DEFAULT_TIME_ZONE = "America/Los_Angeles"
DEFAULT_LOCALE = "en_US"

SharedEci = Literal["create", "adopt", "skip"]
OAuthAppKind = Literal["connectedApp", "externalClientApp"]
ConnectionMethod = Literal["accessToken", "sfdxAuthUrl", "jwt"]

SECRET_KEYS = frozenset({"accessToken", "sfdxAuthUrl", "privateKey", "aircallApiToken"})

# Every key the program reads, with the guide section or tool that produces its value: used in error messages,
# and by tests/test_project.py to prove Pulumi.yaml declares each one.
KEY_SOURCES: dict[str, str] = {
    "instanceUrl": "`sf org display --json` → result.instanceUrl",
    "accessToken": "`sf org display --json` → result.accessToken",
    "sfdxAuthUrl": "`sf org display --verbose --json` → result.sfdxAuthUrl",
    "username": "the Salesforce username the JWT bearer flow logs in as",
    "clientId": "the consumer key of the connected app registered for JWT bearer",
    "privateKey": "the PEM private key whose certificate is on that connected app",
    "loginUrl": "https://login.salesforce.com, https://test.salesforce.com or your My Domain URL",
    "caBundle": "a PEM file of extra CA certificates (only for TLS-intercepting proxies)",
    "apiVersion": "the Salesforce API version, e.g. 63.0",
    "aircallApiId": "guide: Generate the API Key for Aircall (API ID)",
    "aircallApiToken": "guide: Generate the API Key for Aircall (API Token)",
    "aircallApiUrl": "Aircall's public API base URL",
    "aircallEndpoint": "guide: Add Aircall Named Credentials (URL)",
    "contactEmail": "guide: Set Up the Connected App (Contact Email), Set Up the Salesforce Site",
    "integrationUser": "guide: Log In as the Integration User",
    "sharedEci": "guide: Set Up the Connected App (skip if another voice connector is configured)",
    "oauthAppKind": "connectedApp, or externalClientApp where the org blocks creating connected apps",
    "connectedAppProfiles": "guide: Set Up the Connected App, step 11 (Manage Profiles)",
    "permissionSets": "guide: Log In as the Integration User / Assign the Guest User Permission Set",
    "siteAdmin": "guide: Set Up the Salesforce Site (site administrator)",
    "siteDefaultRecordOwner": "guide: Set Up the Salesforce Site (Default Record Owner)",
    "deleteAdopted": "whether `pulumi destroy` deletes shared artifacts that existed before this stack",
}

_EXAMPLES: dict[str, str] = {
    "instanceUrl": "https://mydomain.my.salesforce.com",
    "accessToken": "<access token>",
    "sfdxAuthUrl": "force://<clientId>::<refreshToken>@<instance>",
    "username": "ci-bot@example.com",
    "clientId": "<consumer key>",
    "privateKey": "< server.key",
    "loginUrl": DEFAULT_LOGIN_URL,
    "caBundle": "/path/to/ca.pem",
    "apiVersion": DEFAULT_API_VERSION,
    "aircallApiId": "<api_id>",
    "aircallApiToken": "<token>",
    "aircallApiUrl": DEFAULT_AIRCALL_API_URL,
    "aircallEndpoint": DEFAULT_AIRCALL_ENDPOINT,
    "contactEmail": "admin@example.com",
    "integrationUser.username": "eci-aircall@example.com",
    "integrationUser.email": "admin@example.com",
    "integrationUser.firstName": "ECI",
    "integrationUser.lastName": "Aircall Integration",
    "integrationUser.alias": "eciair",
    "integrationUser.timeZone": DEFAULT_TIME_ZONE,
    "integrationUser.locale": DEFAULT_LOCALE,
    "integrationUser.profile": DEFAULT_PROFILE,
    "sharedEci": "create",
    "oauthAppKind": "externalClientApp",
    "connectedAppProfiles": '\'["Standard User","System Administrator"]\'',
    "permissionSets.eciAccess": DEFAULT_PERMISSION_SETS["eciAccess"],
    "permissionSets.integrationUser": DEFAULT_PERMISSION_SETS["integrationUser"],
    "permissionSets.voiceConnector": DEFAULT_PERMISSION_SETS["voiceConnector"],
    "siteAdmin": "admin@example.com",
    "siteDefaultRecordOwner": "admin@example.com",
    "deleteAdopted": "false",
}

# Salesforce usernames and emails are both "name@domain" shaped; this is the check Setup applies up front
# (a stricter RFC 5322 parse would reject nothing Salesforce accepts and add a dependency).
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_API_VERSION = re.compile(r"^\d{2,3}\.0$")
_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class ConfigError(pulumi.RunError):
    """Bad or missing stack configuration. A RunError, so Pulumi prints the message without a traceback."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"eci-aircall stack configuration has {len(self.problems)} {noun}:\n{lines}")


def set_command(key: str) -> str:
    """The exact command that sets ``key`` (``a.b`` for a field of a structured key, via ``--path``)."""
    secret = " --secret" if key.split(".")[0] in SECRET_KEYS else ""
    path = " --path" if "." in key else ""
    return f"pulumi config set{secret}{path} {NAMESPACE}:{key} {_EXAMPLES.get(key, '<value>')}"


def _problem(key: str, what: str) -> str:
    top = key.split(".")[0]
    return f"{NAMESPACE}:{key} {what}: run `{set_command(key)}` ({KEY_SOURCES[top]})"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Connection(_Frozen):
    """How the providers log in. No secret value is held here: the providers read those in ``configure()``."""

    method: ConnectionMethod
    instance_url: str | None
    login_url: str
    username: str | None
    client_id: str | None
    ca_bundle: str | None
    api_version: str


class IntegrationUserConfig(_Frozen):
    username: str
    email: str
    first_name: str
    last_name: str
    alias: str
    time_zone: str = DEFAULT_TIME_ZONE
    locale: str = DEFAULT_LOCALE
    profile: str = DEFAULT_PROFILE


class PermissionSetNames(_Frozen):
    eci_access: str = DEFAULT_PERMISSION_SETS["eciAccess"]
    integration_user: str = DEFAULT_PERMISSION_SETS["integrationUser"]
    voice_connector: str = DEFAULT_PERMISSION_SETS["voiceConnector"]


class StackConfig(_Frozen):
    """The validated stack configuration. ``aircall_api_token`` is an Output marked secret."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    connection: Connection
    aircall_api_id: str
    aircall_api_token: pulumi.Output[str]
    aircall_api_url: str
    aircall_endpoint: str
    contact_email: str
    integration_user: IntegrationUserConfig
    shared_eci: SharedEci
    oauth_app_kind: OAuthAppKind
    connected_app_profiles: tuple[str, ...]
    permission_sets: PermissionSetNames
    site_admin: str
    site_default_record_owner: str
    delete_adopted: bool
    secret_keys_present: frozenset[str] = Field(default_factory=frozenset)


# Pure validation over raw config strings (what Pulumi hands a program: strings, JSON for structured values)


def _blank(value: str | None) -> bool:
    # Pulumi.yaml gives optional keys the default "" (a declared key without a default is required by the
    # CLI), so an empty string means "not set".
    return value is None or value.strip() == ""


def _is_https_url(value: str, *, allow_http_loopback: bool = True) -> bool:
    parsed = urlparse(value)
    if parsed.scheme == "https" and parsed.netloc:
        return True
    # The emulator and local proxies listen on loopback; nothing else may be plain http.
    return allow_http_loopback and parsed.scheme == "http" and parsed.hostname in {"127.0.0.1", "localhost"}


def _parse_structured(
    raw: str | None, key: str, fields: Mapping[str, str], problems: list[str]
) -> dict[str, str] | None:
    """Parse a structured (JSON object) key, checking its field names; returns the fields that are set, or
    None when the value is not an object at all (already reported)."""
    if raw is None or _blank(raw):
        return {}
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        problems.append(_problem(key, "must be an object (set its fields with --path)"))
        return None
    out: dict[str, str] = {}
    for name, item in value.items():
        if name not in fields:
            known = ", ".join(fields)
            problems.append(
                f"{NAMESPACE}:{key}.{name} is not a known field (known: {known}): "
                f"remove it with `pulumi config rm --path {NAMESPACE}:{key}.{name}`"
            )
            continue
        if not isinstance(item, str):
            problems.append(_problem(f"{key}.{name}", "must be a string"))
            continue
        if item.strip():
            out[name] = item.strip()
    return out


def parse(
    raw: Mapping[str, str | None], stored_secret: Collection[str] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Validate raw config values (keys without namespace). Returns (values, problems); never raises.

    ``stored_secret``: the keys whose values are stored encrypted (set with ``--secret``); a secret key set in
    plaintext is a problem. None skips that check (values not read from a stack).

    Secret keys' values are only checked; the returned dict records which secrets are present, never a value.
    """
    problems: list[str] = []
    out: dict[str, Any] = {}

    def get(key: str) -> str | None:
        value = raw.get(key)
        return None if value is None or _blank(value) else value.strip()

    # --- connection: exactly one of access token (+ instance URL) | SFDX auth URL | JWT bearer
    jwt_keys = ("username", "clientId", "privateKey")
    has_token = get("accessToken") is not None
    has_sfdx = get("sfdxAuthUrl") is not None
    jwt_set = [k for k in jwt_keys if get(k) is not None]
    methods = [
        m for m, on in (("accessToken", has_token), ("sfdxAuthUrl", has_sfdx), ("jwt", bool(jwt_set))) if on
    ]
    method: ConnectionMethod | None = None
    if not methods:
        problems.append(
            f"{NAMESPACE}:accessToken (or sfdxAuthUrl, or username + clientId + privateKey) is not set: "
            f"no way to log in to the org. Run `sf org display --json --target-org <alias>` and then "
            f"`pulumi config set {NAMESPACE}:instanceUrl <result.instanceUrl>` and "
            f"`pulumi config set --secret {NAMESPACE}:accessToken <result.accessToken>`"
        )
    elif len(methods) > 1:
        problems.append(
            f"{NAMESPACE}: more than one way to log in is configured ({', '.join(methods)}): keep one, e.g. "
            f"`pulumi config rm {NAMESPACE}:sfdxAuthUrl`"
        )
    else:
        method = cast(ConnectionMethod, methods[0])
    if method == "jwt":
        for k in jwt_keys:
            if k not in jwt_set:
                problems.append(
                    _problem(k, "is not set (the JWT bearer login needs username, clientId and privateKey)")
                )
        pk = get("privateKey")
        if pk is not None and "PRIVATE KEY-----" not in pk:
            problems.append(_problem("privateKey", "is not a PEM private key"))
        jwt_user = get("username")
        if jwt_user is not None and not _EMAIL.match(jwt_user):
            problems.append(_problem("username", "is not a Salesforce username (name@domain)"))
    if method == "sfdxAuthUrl":
        sfdx = get("sfdxAuthUrl")
        if sfdx is not None and not sfdx.startswith("force://"):
            problems.append(_problem("sfdxAuthUrl", "is not an SFDX auth URL (it starts with force://)"))
    instance_url = get("instanceUrl")
    if method == "accessToken" and instance_url is None:
        problems.append(_problem("instanceUrl", "is not set (an access token needs the org's instance URL)"))
    if instance_url is not None and not _is_https_url(instance_url):
        problems.append(_problem("instanceUrl", "is not an https:// URL"))
    login_url = get("loginUrl") or DEFAULT_LOGIN_URL
    if not _is_https_url(login_url):
        problems.append(_problem("loginUrl", "is not an https:// URL"))
    api_version = get("apiVersion") or DEFAULT_API_VERSION
    if not _API_VERSION.match(api_version):
        problems.append(_problem("apiVersion", "is not a Salesforce API version like 63.0"))
    if method is not None:
        out["connection"] = Connection(
            method=method,
            instance_url=instance_url.rstrip("/") if instance_url else None,
            login_url=login_url.rstrip("/"),
            username=get("username"),
            client_id=get("clientId"),
            ca_bundle=get("caBundle"),
            api_version=api_version,
        )
    out["secret_keys_present"] = frozenset(k for k in SECRET_KEYS if get(k) is not None)
    if stored_secret is not None:
        for key in sorted(out["secret_keys_present"] - set(stored_secret)):
            # A plaintext token in a stack file ends up in version control; Pulumi.yaml cannot demand
            # encryption for a key that has a default, so the program does.
            problems.append(_problem(key, "is stored in plaintext: set it again with --secret"))

    # --- Aircall
    api_id = get("aircallApiId")
    if api_id is None:
        problems.append(_problem("aircallApiId", "is not set"))
    out["aircall_api_id"] = api_id or ""
    if get("aircallApiToken") is None:
        problems.append(_problem("aircallApiToken", "is not set"))
    for key, default in (
        ("aircallApiUrl", DEFAULT_AIRCALL_API_URL),
        ("aircallEndpoint", DEFAULT_AIRCALL_ENDPOINT),
    ):
        url = get(key) or default
        if not _is_https_url(url):
            problems.append(_problem(key, "is not an https:// URL"))
        out[key] = url
    out["aircall_api_url"] = out.pop("aircallApiUrl").rstrip("/")
    out["aircall_endpoint"] = out.pop("aircallEndpoint")

    # --- contact email
    contact = get("contactEmail")
    if contact is None:
        problems.append(_problem("contactEmail", "is not set"))
    elif not _EMAIL.match(contact):
        problems.append(_problem("contactEmail", "is not an email address"))
    out["contact_email"] = contact or ""

    # --- integration user (structured)
    user_fields = {
        "username": "username",
        "email": "email",
        "firstName": "first_name",
        "lastName": "last_name",
        "alias": "alias",
        "timeZone": "time_zone",
        "locale": "locale",
        "profile": "profile",
    }
    parsed_user = _parse_structured(raw.get("integrationUser"), "integrationUser", user_fields, problems)
    user = parsed_user or {}
    if parsed_user is None:
        pass  # the whole value is malformed; its fields are not reported on top of that
    elif "username" not in user:
        problems.append(_problem("integrationUser.username", "is not set"))
    elif not _EMAIL.match(user["username"]):
        problems.append(_problem("integrationUser.username", "is not a Salesforce username (name@domain)"))
    if "email" in user and not _EMAIL.match(user["email"]):
        problems.append(_problem("integrationUser.email", "is not an email address"))
    alias = user.get("alias") or _default_alias(user.get("username", ""))
    # Salesforce: User.Alias is at most 8 characters (Object Reference, User).
    if len(alias) > 8:
        problems.append(_problem("integrationUser.alias", "is longer than 8 characters (Salesforce's limit)"))
    out["integration_user"] = IntegrationUserConfig(
        username=user.get("username", ""),
        email=user.get("email") or contact or "",
        first_name=user.get("firstName", "ECI"),
        last_name=user.get("lastName", "Aircall Integration"),
        alias=alias,
        time_zone=user.get("timeZone", DEFAULT_TIME_ZONE),
        locale=user.get("locale", DEFAULT_LOCALE),
        profile=user.get("profile", DEFAULT_PROFILE),
    )

    # --- choices
    shared = get("sharedEci") or "create"
    if shared not in ("create", "adopt", "skip"):
        problems.append(_problem("sharedEci", "must be one of create, adopt, skip"))
    out["shared_eci"] = shared
    kind = get("oauthAppKind") or "connectedApp"
    if kind not in ("connectedApp", "externalClientApp"):
        problems.append(_problem("oauthAppKind", "must be connectedApp or externalClientApp"))
    out["oauth_app_kind"] = kind

    profiles_raw = get("connectedAppProfiles")
    profiles: tuple[str, ...] = DEFAULT_CONNECTED_APP_PROFILES
    if profiles_raw is not None:
        try:
            parsed = json.loads(profiles_raw)
        except json.JSONDecodeError:
            parsed = None
        if (
            not isinstance(parsed, list)
            or not parsed
            or not all(isinstance(p, str) and p.strip() for p in parsed)
        ):
            problems.append(_problem("connectedAppProfiles", "must be a non-empty list of profile names"))
        else:
            profiles = tuple(p.strip() for p in parsed)
    out["connected_app_profiles"] = profiles

    ps_fields = {
        "eciAccess": "eci_access",
        "integrationUser": "integration_user",
        "voiceConnector": "voice_connector",
    }
    ps = _parse_structured(raw.get("permissionSets"), "permissionSets", ps_fields, problems)
    out["permission_sets"] = PermissionSetNames(**{ps_fields[k]: v for k, v in (ps or {}).items()})

    # Guide, "Set Up the Salesforce Site": "Default Record Owner: a Salesforce admin is recommended"; the
    # integration user is one (System Administrator profile), so it is the default for both.
    for key in ("siteAdmin", "siteDefaultRecordOwner"):
        value = get(key)
        if value is not None and not _EMAIL.match(value):
            problems.append(_problem(key, "is not a Salesforce username (name@domain)"))
    out["site_admin"] = get("siteAdmin") or out["integration_user"].username
    out["site_default_record_owner"] = get("siteDefaultRecordOwner") or out["integration_user"].username

    delete_adopted = (get("deleteAdopted") or "false").lower()
    if delete_adopted not in ("true", "false"):
        problems.append(_problem("deleteAdopted", "must be true or false"))
    out["delete_adopted"] = delete_adopted == "true"
    return out, problems


def _default_alias(username: str) -> str:
    local = re.sub(r"[^A-Za-z0-9]", "", username.split("@")[0])
    return (local or "eciair")[:8]


def load(cfg: pulumi.Config | None = None) -> StackConfig:
    """Read and validate the stack config; raise ONE :class:`ConfigError` listing every problem."""
    cfg = cfg or pulumi.Config(NAMESPACE)
    # Config.get reads the raw string without turning it into an Output: needed to validate; the secret values
    # read this way go no further than the checks in parse() (which keep only "present").
    raw = {key: cfg.get(key) for key in KEY_SOURCES}
    stored_secret = {key for key in SECRET_KEYS if is_config_secret(cfg.full_key(key))}
    values, problems = parse(raw, stored_secret)
    if problems:
        raise ConfigError(problems)
    token = cfg.require_secret("aircallApiToken")
    return StackConfig(aircall_api_token=token, **values)
