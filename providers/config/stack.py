"""The program's side of the stack configuration (namespace ``eci-aircall``): read, default, validate.

Every key is declared once (``keys.py``): its default, check, example and source come from there, and so does
``Pulumi.yaml``'s ``config`` block (:func:`pulumi_yaml_config`; ``make generate`` writes it). This module adds
only what spans keys: which login is configured, defaults that depend on another key, and the typed
:class:`StackConfig` the component reads.

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

import contextlib
import difflib
import json
import re
import textwrap
from collections.abc import Collection, Mapping
from typing import Any

import pulumi
import yaml
from pulumi.runtime.config import is_config_secret
from pydantic import BaseModel, ConfigDict, Field

from providers.config import keys
from providers.config.keys import (
    ACCESS_TOKEN,
    INSTANCE_URL,
    JWT_KEYS,
    KEYS,
    NAMESPACE,
    SFDX_AUTH_URL,
    TARGET_ORG,
    ConfigKey,
    OAuthAppKind,
    SharedEci,
)
from salesforce.errors import UsageError

SECRET_KEYS = frozenset(k.name for k in KEYS if k.secret)
#: The keys Pulumi stores (a structured key once), in declaration order.
TOP_KEYS: tuple[str, ...] = tuple(dict.fromkeys(k.top for k in KEYS))
_FIELDS: dict[str, dict[str, ConfigKey]] = {}
for _key in KEYS:
    if "." in _key.name:
        _FIELDS.setdefault(_key.top, {})[_key.name.split(".", 1)[1]] = _key


def _default(key: ConfigKey) -> Any:
    """A key's declared default, typed by the field it initialises (``ConfigKey.default`` is a union)."""
    return key.default


class ConfigError(UsageError, pulumi.RunError):
    """Bad or missing stack configuration: a usage error, and a RunError, so the Python language host prints
    the message without a traceback (pulumi/pulumi sdk/python/lib/pulumi/errors.py). Each problem names its
    fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = f"{len(self.problems)} problem" + ("" if len(self.problems) == 1 else "s")
        super().__init__("CONFIGURATION", f"the stack configuration has {count}:\n{lines}")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IntegrationUserConfig(_Frozen):
    username: str
    email: str
    first_name: str
    last_name: str
    alias: str
    time_zone: str = _default(keys.INTEGRATION_USER_TIME_ZONE)
    locale: str = _default(keys.INTEGRATION_USER_LOCALE)
    profile: str = _default(keys.INTEGRATION_USER_PROFILE)
    #: Use an existing user of that username as it is (never changing it) instead of refusing it.
    adopt_existing: bool = _default(keys.INTEGRATION_USER_ADOPT_EXISTING)
    #: Salesforce emails the new user a password reset at create, for the manual step.
    send_password_reset: bool = _default(keys.INTEGRATION_USER_SEND_PASSWORD_RESET)


class PermissionSetNames(_Frozen):
    eci_access: str = _default(keys.PERMISSION_SET_ECI_ACCESS)
    integration_user: str = _default(keys.PERMISSION_SET_INTEGRATION_USER)
    voice_connector: str = _default(keys.PERMISSION_SET_VOICE_CONNECTOR)


class StackConfig(_Frozen):
    """The validated stack configuration, which is also the component's args (``EciAircallIntegrationArgs``).

    ``aircall_api_token`` is an Output marked secret. The connection keys are not here: the providers read
    them in ``configure()`` (``connection.py``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    aircall_api_id: str
    aircall_api_token: pulumi.Output[str]
    contact_email: str
    integration_user: IntegrationUserConfig
    aircall_api_url: str = _default(keys.AIRCALL_API_URL)
    aircall_endpoint: str = _default(keys.AIRCALL_ENDPOINT)
    adopt_aircall_named_credential: bool = _default(keys.ADOPT_AIRCALL_NAMED_CREDENTIAL)
    shared_eci: SharedEci = _default(keys.SHARED_ECI)
    oauth_app_kind: OAuthAppKind = _default(keys.OAUTH_APP_KIND)
    connected_app_profiles: tuple[str, ...] = _default(keys.CONNECTED_APP_PROFILES)
    permission_sets: PermissionSetNames = Field(default_factory=PermissionSetNames)
    site_admin: str | None = None  # None: the integration user
    site_default_record_owner: str | None = None  # None: the integration user
    delete_adopted: bool = _default(keys.DELETE_ADOPTED)
    health_checks: bool = _default(keys.HEALTH_CHECKS)
    allow_production: bool = _default(keys.ALLOW_PRODUCTION)
    secret_keys_present: frozenset[str] = Field(default_factory=frozenset)


class _Reader:
    """Raw config strings (what Pulumi hands a program: strings, JSON for structured values), cleaned and
    checked key by key against the declarations; problems are collected, never raised."""

    def __init__(self, raw: Mapping[str, str | None]) -> None:
        self.problems: list[str] = []
        self.values: dict[str, str | None] = {}
        #: structured keys whose value is not an object (reported once, their fields not on top of that)
        self.malformed: set[str] = set()
        for top in TOP_KEYS:
            if top in _FIELDS:
                self._structured(top, raw.get(top))
            else:
                self.values[top] = _clean(raw.get(top))

    def get(self, key: ConfigKey) -> str | None:
        """The value set (stripped), or None when not set."""
        return self.values.get(key.name)

    def value(self, key: ConfigKey) -> str:
        """The value set, or the declared default."""
        default = key.default if isinstance(key.default, str) else json.dumps(key.default)
        return self.get(key) or default

    def typed(self, key: ConfigKey) -> Any:
        """The value set or the declared default, as the key's type (Pulumi hands the program strings)."""
        if key.type == "boolean":
            return self.value(key).lower() == "true"
        if key.type == "array":
            return tuple(item.strip() for item in json.loads(self.value(key)))
        return self.value(key)

    def problem(self, key: ConfigKey, what: str) -> None:
        self.problems.append(key.problem(what))

    def check_each(self) -> None:
        """Every key's own check, and "is not set" for the required ones."""
        for key in KEYS:
            value = self.get(key)
            if value is None:
                if key.required and key.top not in self.malformed:
                    self.problem(key, "is not set")
            else:
                # Values that cannot be sent as XML first (every key), then the key's own check.
                what = _unsendable(key, value) or (key.check(value) if key.check is not None else None)
                if what is not None:
                    self.problem(key, what)

    def _structured(self, top: str, raw: str | None) -> None:
        for name in _FIELDS[top]:
            self.values[f"{top}.{name}"] = None
        if _clean(raw) is None:
            return
        try:
            value: Any = json.loads(raw or "")
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            self.malformed.add(top)
            self.problems.append(
                f"{NAMESPACE}:{top} must be an object (set its fields with --path): run "
                f"`{next(iter(_FIELDS[top].values())).set_command()}`"
            )
            return
        for name, item in value.items():
            declared = _FIELDS[top].get(name)
            if declared is None:
                self.problems.append(
                    f"{NAMESPACE}:{top}.{name} is not a known field (known: {', '.join(_FIELDS[top])}): "
                    f"remove it with `pulumi config rm --path {NAMESPACE}:{top}.{name}`"
                )
            elif isinstance(item, bool) and declared.type == "boolean":
                self.values[declared.name] = str(item).lower()  # `config set --path k.f true`: a YAML bool
            elif not isinstance(item, str):
                self.problem(declared, "must be a string")
            else:
                self.values[declared.name] = _clean(item)


def _unsendable(key: ConfigKey, value: str) -> str | None:
    """Why ``value`` cannot be sent to Salesforce, or None; every string key gets this check, once.

    Every value ends up in a SOAP (XML) envelope or a JSON body; XML 1.0 allows only TAB, LF, CR and
    characters from U+0020 (W3C XML 1.0, §2.2 "Characters"), excluding surrogates, U+FFFE and U+FFFF; DEL and
    the C1 controls are allowed by XML but are never part of a name, URL or token. Checked here so such a
    value fails before the first write instead of after several (zeep: "All strings must be XML
    compatible"). The character is named by code point only: the value may be a secret."""
    texts = [value]
    if key.type == "array":
        with contextlib.suppress(json.JSONDecodeError, TypeError):
            texts = [str(item) for item in json.loads(value)]  # "\u0001" in JSON is the character itself
    if not key.multiline and any("\r" in text or "\n" in text for text in texts):
        # A name, URL, id or token is one line; a line break in one is an injection (a header, a SOAP
        # element) waiting to happen, and `urlparse` would even drop it silently from a URL.
        return "contains a line break (CR or LF), which a single-line value cannot hold"
    for char in "".join(texts):
        code = ord(char)
        if code < 0x20 and char not in "\t\n\r" or 0x7F <= code <= 0x9F:
            return f"contains a control character (U+{code:04X}), which Salesforce's API cannot carry"
        if 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
            return f"contains U+{code:04X}, which cannot be sent in XML to Salesforce's API"
    return None


def _clean(value: str | None) -> str | None:
    # Pulumi.yaml gives optional keys the default "" (a declared key without a default is required by the
    # CLI), so an empty string means "not set".
    return None if value is None or value.strip() == "" else value.strip()


def _check_login(read: _Reader) -> None:
    """Exactly one of access token (+ instance URL) | SFDX auth URL | JWT bearer."""
    jwt_set = [k for k in JWT_KEYS if read.get(k) is not None]
    methods = [
        name
        for name, on in (
            (TARGET_ORG.name, read.get(TARGET_ORG) is not None),
            (ACCESS_TOKEN.name, read.get(ACCESS_TOKEN) is not None),
            (SFDX_AUTH_URL.name, read.get(SFDX_AUTH_URL) is not None),
            ("jwt", bool(jwt_set)),
        )
        if on
    ]
    if not methods:
        read.problems.append(
            f"{TARGET_ORG.full_name} (or accessToken, sfdxAuthUrl, or username + clientId + privateKey) is "
            f"not set: no way to log in to the org. Log in with the Salesforce CLI "
            f"(`sf org login web --alias <alias>`) and run `{TARGET_ORG.set_command()}` with that alias; or "
            f"run `sf org display --json --target-org <alias>` and then "
            f"`pulumi config set {INSTANCE_URL.full_name} <result.instanceUrl>` and "
            f"`{ACCESS_TOKEN.set_command()}` (the token on stdin, never in argv; a token expires)"
        )
    elif len(methods) > 1:
        read.problems.append(
            f"{NAMESPACE}: more than one way to log in is configured ({', '.join(methods)}): keep one, e.g. "
            f"`pulumi config rm {SFDX_AUTH_URL.full_name}`"
        )
    elif methods == ["jwt"]:
        for k in JWT_KEYS:
            if k not in jwt_set:
                read.problem(k, "is not set (the JWT bearer login needs username, clientId and privateKey)")
    elif methods == [ACCESS_TOKEN.name] and read.get(INSTANCE_URL) is None:
        read.problem(INSTANCE_URL, "is not set (an access token needs the org's instance URL)")


def _check_secrets_encrypted(read: _Reader, stored_secret: Collection[str]) -> None:
    # A plaintext token in a stack file ends up in version control; Pulumi.yaml cannot demand encryption for
    # a key that has a default, so the program does.
    for key in KEYS:
        if key.secret and read.get(key) is not None and key.name not in stored_secret:
            read.problem(key, "is stored in plaintext: set it again with --secret")


def _integration_user(read: _Reader) -> IntegrationUserConfig:
    fields: dict[str, Any] = {k.attribute: read.typed(k) for k in keys.INTEGRATION_USER_KEYS}
    # Empty email: the contact email; empty alias: derived from the username (both guide-neutral defaults).
    fields["email"] = fields["email"] or read.value(keys.CONTACT_EMAIL)
    fields["alias"] = fields["alias"] or _default_alias(fields["username"])
    return IntegrationUserConfig(**fields)


def _default_alias(username: str) -> str:
    local = re.sub(r"[^A-Za-z0-9]", "", username.split("@")[0])
    return (local or "eciair")[:8]


def _values(read: _Reader) -> dict[str, Any]:
    """Each plain program key's typed value (its declared default when not set), named ``key.attribute``: a
    new key reaches :class:`StackConfig` without code here. Secrets stay out (the token is read as an Output).
    """
    return {
        key.attribute: read.typed(key) for key in keys.PROGRAM_KEYS if "." not in key.name and not key.secret
    }


def _check_unknown(read: _Reader, present: Collection[str]) -> None:
    """A key of this namespace that no declaration names is a typo that would silently change nothing
    (`eci-aircall:sharedECI`): a problem naming the closest declared key and the command that removes it."""
    for name in sorted(set(present) - set(TOP_KEYS)):
        close = difflib.get_close_matches(name.lower(), [k.lower() for k in TOP_KEYS], n=1, cutoff=0.6)
        meant = next((k for k in TOP_KEYS if close and k.lower() == close[0]), None)
        hint = f"did you mean {NAMESPACE}:{meant}? " if meant else ""
        read.problems.append(
            f"{NAMESPACE}:{name} is not a setting of this program: {hint}remove it with "
            f"`pulumi config rm {NAMESPACE}:{name}` (every setting: the configuration table in the README)"
        )


def _keys_set() -> set[str]:
    """The keys of this namespace the stack sets (Pulumi hands the program the whole config, declared
    defaults included: pulumi/runtime/config.py CONFIG)."""
    from pulumi.runtime.config import CONFIG

    prefix = f"{NAMESPACE}:"
    return {key[len(prefix) :] for key in CONFIG.get() if key.startswith(prefix)}


def parse(
    raw: Mapping[str, str | None],
    stored_secret: Collection[str] | None = None,
    present: Collection[str] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Validate raw config values (keys without namespace). Returns (values, problems); never raises.

    ``stored_secret``: the keys whose values are stored encrypted (set with ``--secret``); a secret key set in
    plaintext is a problem. None skips that check (values not read from a stack).
    ``present``: every key of the namespace the stack sets; one not declared is a problem. None skips it.

    Secret keys' values are only checked; the returned dict records which secrets are present, never a value.
    """
    read = _Reader(raw)
    if present is not None:
        _check_unknown(read, present)
    _check_login(read)
    if stored_secret is not None:
        _check_secrets_encrypted(read, stored_secret)
    read.check_each()
    if read.problems:
        return {}, read.problems
    values = _values(read)
    values["aircall_api_url"] = values["aircall_api_url"].rstrip("/")
    user = values["integration_user"] = _integration_user(read)
    values["permission_sets"] = PermissionSetNames(
        **{k.attribute: read.value(k) for k in keys.PERMISSION_SET_KEYS}
    )
    # Guide, "Set Up the Salesforce Site": "Default Record Owner: a Salesforce admin is recommended"; the
    # integration user is one (System Administrator profile), so it is the default for both.
    for site_user in ("site_admin", "site_default_record_owner"):
        values[site_user] = values[site_user] or user.username
    values["secret_keys_present"] = frozenset(k.name for k in KEYS if k.secret and read.get(k) is not None)
    return values, []


def load(cfg: pulumi.Config | None = None) -> StackConfig:
    """Read and validate the stack config; raise ONE :class:`ConfigError` listing every problem."""
    cfg = cfg or pulumi.Config(NAMESPACE)
    # Config.get reads the raw string without turning it into an Output: needed to validate; the secret values
    # read this way go no further than the checks in parse() (which keep only "present").
    raw = {key: cfg.get(key) for key in TOP_KEYS}
    stored_secret = {key for key in SECRET_KEYS if is_config_secret(cfg.full_key(key))}
    values, problems = parse(raw, stored_secret, _keys_set())
    if problems:
        raise ConfigError(problems)
    token = cfg.require_secret(keys.AIRCALL_API_TOKEN.name)
    return StackConfig(aircall_api_token=token, **values)


def pulumi_yaml_config() -> str:
    """``Pulumi.yaml``'s ``config`` block, generated from the declarations (``make generate`` writes it)."""
    out: list[str] = ["config:"]
    for heading, section in keys.SECTIONS:
        out.extend(f"  # {line}" for line in textwrap.wrap(f"--- {heading}", 108))
        for key in section:
            notes = ("Required." if key.required else "", "Secret (set with --secret)." if key.secret else "")
            description = " ".join(filter(None, (*notes, key.description)))
            decl: dict[str, Any] = {"type": key.type}
            if key.type == "array":
                decl["items"] = {"type": "string"}
            decl["description"] = description
            decl["default"] = list(key.default) if isinstance(key.default, tuple) else key.default
            body = yaml.safe_dump({key.name: decl}, sort_keys=False, width=108, allow_unicode=True)
            out.extend(f"  {line}" for line in body.splitlines())
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
