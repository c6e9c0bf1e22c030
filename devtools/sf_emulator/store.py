"""The emulated org's state: one SQLite database under the state directory.

Everything the APIs serve lives here (sObject rows, Metadata components, org settings, sessions), so a
committed change survives a restart, kill -9 included (WAL + synchronous=FULL: a commit is on disk before the
API answers). The store is system-level: no sharing or permission checks. It does enforce the data rules that
hold whichever API writes (unique usernames, Users never deleted, duplicate or license-mismatched permission
set assignments), because the Metadata handlers write sObject rows too (a CustomSite creates its guest User).
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .schema import SCHEMA, SObjectType, sobject_type, voice_connector_user_fields

API_VERSION = "63.0"


class ApiError(Exception):
    """A Salesforce API error: rendered as REST `[{"message","errorCode","fields"}]` or a SOAP error."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        fields: list[str] | None = None,
        fields_member: bool = True,
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields or []
        # Record (DML) errors carry "fields"; resource-level ones (404 NOT_FOUND, 405) do not:
        # [{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}].
        self.fields_member = fields_member

    def as_json(self) -> list[dict[str, Any]]:
        if not self.fields_member:
            return [{"errorCode": self.error_code, "message": self.message}]
        return [{"message": self.message, "errorCode": self.error_code, "fields": self.fields}]


# ---------------------------------------------------------------------------------------------------------
# Ids. Salesforce's 18-character Id is the 15-character case-sensitive Id plus a 3-character suffix that
# encodes the case of each block of 5 characters, so 15- and 18-character forms name the same record.
# (Algorithm: https://help.salesforce.com/s/articleView?id=000385585 "What are Salesforce IDs composed of")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def id18(id15: str) -> str:
    if len(id15) == 18:
        return id15
    if len(id15) != 15:
        raise ValueError("an Id has 15 or 18 characters")
    suffix = ""
    for block in range(3):
        bits = 0
        for pos, ch in enumerate(id15[block * 5 : block * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << pos
        suffix += _SUFFIX[bits]
    return id15 + suffix


#: The Organization Id of an emulator state made before each org drew its own (kept: sessions name it).
LEGACY_ORG_ID = id18("00D8dS000000000")


def normalize_id(value: str) -> str | None:
    """The 18-character form of an Id-shaped string, or None if it cannot be an Id."""
    if len(value) not in (15, 18) or not value.isalnum():
        return None
    full = id18(value[:15])
    if len(value) == 18 and value[15:].upper() != full[15:]:
        return None
    return full


def _base62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _BASE62[r] + out
    return out.rjust(width, "0")


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


DEFAULT_SETTINGS: dict[str, Any] = {
    "edition": "Enterprise",
    "site_domain_registered": True,
    "connected_app_creation_allowed": True,
    # The real place a client sees this is Metadata ConversationalIntelligenceSettings (readMetadata of
    # 'ConversationalIntelligence'): metadata_api serves that component from this setting.
    "eci_enabled": True,
    "session_seconds": 7200,
    # Extensions (not in the issue): REST query batch size (Salesforce's default is 2000; a small one lets
    # tests prove queryMore paging), the daily API request allocation, per-request latency.
    "query_batch_size": 2000,
    "daily_api_limit": 100000,
    "latency_ms": 0,
    # How many checkDeployStatus calls answer a deploy as still InProgress before its result (Salesforce runs
    # deploys asynchronously; 0 = done at the first check), so a client's polling can be proven.
    "deploy_checks_in_progress": 0,
    # Whether the connecting user may run anonymous Apex ("Author Apex"); false: Tooling executeAnonymous is
    # refused (tooling.py).
    "author_apex": True,
    # Whether the org is a sandbox (Organization.IsSandbox: Object Reference, "Organization"). The emulated
    # org stands for the org one tries a configuration in first: a sandbox, unless a test says production.
    "sandbox": True,
    # ---- Einstein Conversation Insights (metadata_types.ConversationalIntelligenceSettingsRule) ----------
    # Whether the org has the ECI licence (the org permission ConversationPilot). Without it the settings
    # answer as eci_unlicensed_answer says: "off" (readMetadata answers enableCallCoaching false, as for a
    # licensed org with ECI off) or "unavailable" (the type is not available to this org).
    "eci_licensed": True,
    "eci_unlicensed_answer": "off",
    # How many updateMetadata calls, after one that switched enableCallCoaching on, refuse a change of a
    # dependent preference with INSUFFICIENT_ACCESS_OR_READONLY (0: none).
    "eci_dependents_readonly": 0,
    # Seats (TotalLicenses) of the "Einstein Conversation Insights" permission set license.
    "eci_license_seats": 100,
    # ---- the Voice Connector managed package ---------------------------------------------------------
    # Installed: the CallCoachingMediaProvider records of its connectors (inactive) and its User fields exist.
    "voice_connector_installed": True,
    # The package's namespace prefix, which the API names of its User fields carry ("" for none).
    "voice_connector_namespace": "vconn",
    # ---- the fake Aircall API (aircall.py) -----------------------------------------------------------
    # Requests a minute per API key before 429 (Aircall's documented range is 60 to 120 per company).
    "aircall_rate_limit": 60,
}

#: The values an org setting may take, where not any value of its default's type.
SETTING_CHOICES: dict[str, tuple[str, ...]] = {"eci_unlicensed_answer": ("off", "unavailable")}

ADMIN_USERNAME = "admin@eci-emulator.example"
GUEST_PROFILE = "VoiceConnector Profile"

#: Key prefix of PermissionSetLicense Ids: a PermissionSet.LicenseId with it names a permission set license.
PERMISSION_SET_LICENSE_PREFIX = "0PL"
#: The permission set license behind ECI's licensed permission sets (its API name is the emulator's).
ECI_PSL = "ConversationInsightsPsl"
#: The ECI permission sets, by the labels of Sales Cloud help ("Guidelines to Start Using Einstein
#: Conversation Insights": "Permission sets that grant ECI access include: Conversation Insights for Sales,
#: Sales Engagement Conversation Insights, Einstein Conversation Insights Included, Einstein Conversation
#: Insights Standard"). Their API names are unpublished (these are the emulator's); the permission set license
#: each needs is our reading: the "Included" one comes with the edition, the Sales Engagement one with a Sales
#: Engagement licence this org has no seat of, the other two with the ECI add-on's licence.
ECI_PERMISSION_SETS = (
    ("CallCoachingUser", "Conversation Insights for Sales", ECI_PSL),
    ("SalesEngagementCallCoaching", "Sales Engagement Conversation Insights", "SalesEngagementPsl"),
    ("CallCoachingIncluded", "Einstein Conversation Insights Included", None),
    ("CallCoachingStandard", "Einstein Conversation Insights Standard", ECI_PSL),
)
#: The recording providers the Voice Connector package brings (CallCoachingMediaProvider ProviderName,
#: ProviderDescription), inactive until an admin enables them (KB 000392584). The names Salesforce ships are
#: not public (only Natterbox's is seen); these are the emulator's.
VOICE_CONNECTOR_PROVIDERS = (
    ("Aircall", "Aircall calls through the Voice Connector"),
    ("Dialpad", "Dialpad calls through the Voice Connector"),
    ("RingCentral", "RingCentral calls through the Voice Connector"),
)


class _Settings(dict[str, Any]):
    """The org's live settings: every change is written through to the database."""

    def __init__(self, org: Org, initial: dict[str, Any]) -> None:
        super().__init__(initial)
        self._org = org

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._org._settings_changed()

    def update(self, *args: Any, **kw: Any) -> None:
        super().update(*args, **kw)
        self._org._settings_changed()


class Org:
    """The emulated org. Thread-safe: one connection, one re-entrant lock held for each transaction."""

    def __init__(self, state_dir: str | Path, instance_url: str) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.instance_url = instance_url
        self._lock = threading.RLock()
        self._depth = 0
        self._local = threading.local()
        self._db = sqlite3.connect(
            str(self.state_dir / "org.sqlite3"), check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: the WAL is fsynced at every commit, so an answered write survives kill -9 and power loss.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS sobjects (id TEXT PRIMARY KEY, sobject TEXT NOT NULL,
                                                 data TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS sobjects_type ON sobjects (sobject);
            CREATE TABLE IF NOT EXISTS metadata (type TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL,
                                                 PRIMARY KEY (type, key));
            CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, user_id TEXT NOT NULL,
                                                 issued_at REAL NOT NULL, kind TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS refresh_tokens (token TEXT PRIMARY KEY, user_id TEXT NOT NULL,
                                                       client_id TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS aircall_users (id INTEGER PRIMARY KEY, data TEXT NOT NULL);
            """
        )
        self.write_listener: Callable[[], None] | None = None
        with self.transaction():
            if self._meta("seeded") is None:
                self._init_meta()
                self._seed()
            self.settings: _Settings = _Settings(self, json.loads(self._meta("settings") or "{}"))
            self._sync_instance_url()

    # ---- transactions ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One SQLite transaction; nested calls are savepoints, so an inner failure that the caller handles
        (one record of a multi-record Metadata call) undoes only its own writes."""
        with self._lock:
            depth = self._depth
            savepoint = f"sp{depth}"
            self._db.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT {savepoint}")
            writes_before = self.request_writes()
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if depth == 0:
                    self._db.execute("ROLLBACK")
                else:
                    self._db.execute(f"ROLLBACK TO {savepoint}")
                    self._db.execute(f"RELEASE {savepoint}")
                # Nothing was written after all: the request is not a write on this account.
                self._local.writes = writes_before
                raise
            else:
                self._depth -= 1
                self._db.execute("COMMIT" if depth == 0 else f"RELEASE {savepoint}")

    def _mark_write(self) -> None:
        self._local.writes = getattr(self._local, "writes", 0) + 1
        if self.write_listener is not None:
            self.write_listener()

    def begin_request(self) -> None:
        """Start counting this thread's writes (the server calls this before each API request)."""
        self._local.writes = 0

    def request_writes(self) -> int:
        return int(getattr(self._local, "writes", 0))

    # ---- meta ----------------------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def meta(self, key: str) -> str | None:
        with self._lock:
            return self._meta(key)

    def set_meta_value(self, key: str, value: str) -> None:
        with self.transaction():
            self._set_meta(key, value)
            self._mark_write()

    def _init_meta(self) -> None:
        self._set_meta("id_counter", "1000")
        # Every real org has its own Organization Id (``00D`` + 12 characters: Object Reference,
        # "Organization"; the 15 are unique across Salesforce), and a session id starts with its org's 15
        # (Salesforce Help, "Session ID" / `sf org display`'s accessToken "00D...!..."). Drawn at random once
        # and kept with the org's state, so two emulated orgs never share one.
        self._set_meta("org_id", id18("00D" + _base62(secrets.randbelow(62**12), 12)))
        self._set_meta("admin_token", f"{self._org_id()[:15]}!{secrets.token_urlsafe(48)}")
        password = "Emul4tor-" + secrets.token_hex(6)
        self._set_meta("admin_password", password)
        self._set_meta(f"password:{self._admin_id()}", password_hash(self._admin_id(), password))
        self._set_meta("aircall_api_id", secrets.token_hex(16))
        self._set_meta("aircall_api_token", secrets.token_hex(16))
        self._set_meta("settings", json.dumps(DEFAULT_SETTINGS))

    def _settings_changed(self) -> None:
        with self.transaction():
            self._set_meta("settings", json.dumps(dict(self.settings)))
            self._sync_org_row()

    def setting(self, key: str) -> Any:
        """An org setting's value (its default for a state made before the setting existed)."""
        return self.settings.get(key, DEFAULT_SETTINGS[key])

    def apply_settings(self, values: dict[str, Any]) -> None:
        unknown = set(values) - set(DEFAULT_SETTINGS)
        if unknown:
            raise ApiError(400, "INVALID_FIELD", f"unknown setting(s): {', '.join(sorted(unknown))}")
        for key, value in values.items():
            choices = SETTING_CHOICES.get(key)
            if choices is not None and value not in choices:
                raise ApiError(400, "INVALID_FIELD", f"{key} must be one of {', '.join(choices)}")
        with self.transaction():
            self.settings.update(values)
            if "author_apex" in values:
                for row in self.sobject_find("UserPermissionAccess"):
                    self.sobject_update(
                        "UserPermissionAccess",
                        row["Id"],
                        {"PermissionsAuthorApex": bool(values["author_apex"])},
                    )
            if "eci_license_seats" in values:
                for psl in self.sobject_find("PermissionSetLicense", DeveloperName=ECI_PSL):
                    seats = int(values["eci_license_seats"])
                    self.sobject_update("PermissionSetLicense", psl["Id"], {"TotalLicenses": seats})
            if "voice_connector_installed" in values:
                self._sync_voice_connector_providers()

    # ---- ids -------------------------------------------------------------------------------------------
    def new_id(self, key_prefix: str) -> str:
        with self.transaction():
            n = int(self._meta("id_counter") or "1000") + 1
            self._set_meta("id_counter", str(n))
        # Prefix + a fixed "pod" part + counter, then the case-check suffix; unique across resets.
        return id18(key_prefix + "8d" + _base62(n, 10))

    @staticmethod
    def _seed_id(key_prefix: str, n: int) -> str:
        return id18(key_prefix + "8d" + "S" + _base62(n, 9))

    # ---- metadata components ---------------------------------------------------------------------------
    def metadata_get(self, type_: str, full_name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM metadata WHERE type = ? AND key = ?", (type_, full_name.lower())
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def metadata_put(self, type_: str, full_name: str, record: dict[str, Any]) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO metadata (type, key, data) VALUES (?, ?, ?)",
                (type_, full_name.lower(), json.dumps(record)),
            )
            self._mark_write()

    def metadata_delete(self, type_: str, full_name: str) -> bool:
        with self.transaction():
            cur = self._db.execute(
                "DELETE FROM metadata WHERE type = ? AND key = ?", (type_, full_name.lower())
            )
            if cur.rowcount:
                self._mark_write()
            return cur.rowcount > 0

    def metadata_list(self, type_: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT data FROM metadata WHERE type = ? ORDER BY key", (type_,)
            ).fetchall()
        return [dict(json.loads(r[0])) for r in rows]

    # ---- sObjects ----------------------------------------------------------------------------------------
    def sobject_type(self, name: str) -> SObjectType | None:
        """The object as this org describes it: the shared definition plus the org's custom fields (those of
        the Voice Connector package on User, while it is installed)."""
        t = sobject_type(name)
        if t is None or t.name != "User" or not self.setting("voice_connector_installed"):
            return t
        namespace = str(self.setting("voice_connector_namespace") or "")
        return t.with_fields(voice_connector_user_fields(namespace))

    def sobject_types(self) -> list[SObjectType]:
        return [t for t in (self.sobject_type(name) for name in SCHEMA) if t is not None]

    def _canonical(self, sobject: str) -> SObjectType:
        t = self.sobject_type(sobject)
        if t is None:
            raise ApiError(
                404, "NOT_FOUND", f"The requested resource does not exist: sObject type '{sobject}'"
            )
        return t

    def sobject_get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        t = self._canonical(sobject)
        rid = normalize_id(record_id)
        if rid is None:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM sobjects WHERE id = ? AND sobject = ?", (rid, t.name)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def sobject_all(self, sobject: str) -> list[dict[str, Any]]:
        t = self._canonical(sobject)
        with self._lock:
            rows = self._db.execute(
                "SELECT data FROM sobjects WHERE sobject = ? ORDER BY rowid", (t.name,)
            ).fetchall()
        return [dict(json.loads(r[0])) for r in rows]

    def sobject_find(self, sobject: str, **equals: Any) -> list[dict[str, Any]]:
        """Rows whose fields equal the given values (strings compared case-insensitively, as SOQL does)."""

        def same(a: Any, b: Any) -> bool:
            if isinstance(a, str) and isinstance(b, str):
                na, nb = normalize_id(a), normalize_id(b)
                if na is not None and nb is not None:
                    return na == nb
                return a.lower() == b.lower()
            return bool(a == b)

        return [r for r in self.sobject_all(sobject) if all(same(r.get(k), v) for k, v in equals.items())]

    def _write_row(self, t: SObjectType, row: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO sobjects (id, sobject, data) VALUES (?, ?, ?)",
            (row["Id"], t.name, json.dumps(row)),
        )
        self._mark_write()

    def _current_user(self) -> str | None:
        return getattr(self._local, "user_id", None)

    def request_user(self) -> str | None:
        """The user whose session makes the current request (None outside a request)."""
        return self._current_user()

    def set_request_user(self, user_id: str | None) -> None:
        self._local.user_id = user_id

    def sobject_insert(self, sobject: str, fields: dict[str, Any]) -> str:
        t = self._canonical(sobject)
        with self.transaction():
            row = {self._field_name(t, k): v for k, v in fields.items()}
            row["Id"] = self.new_id(t.key_prefix)
            now = _now()
            actor = self._current_user() or self._admin_id()
            row.update(
                CreatedDate=now,
                LastModifiedDate=now,
                SystemModstamp=now,
                CreatedById=actor,
                LastModifiedById=actor,
            )
            self._apply_rules(t, row, None)
            self._write_row(t, row)
            if t.name == "PermissionSetLicenseAssign":
                self._count_license_seats(str(row["PermissionSetLicenseId"]))
            return str(row["Id"])

    def sobject_update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        t = self._canonical(sobject)
        with self.transaction():
            old = self.sobject_get(t.name, record_id)
            if old is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            row = dict(old)
            row.update({self._field_name(t, k): v for k, v in fields.items()})
            row["Id"] = old["Id"]
            row["LastModifiedDate"] = row["SystemModstamp"] = _now()
            row["LastModifiedById"] = self._current_user() or self._admin_id()
            self._apply_rules(t, row, old)
            self._write_row(t, row)

    def sobject_delete(self, sobject: str, record_id: str) -> None:
        t = self._canonical(sobject)
        with self.transaction():
            old = self.sobject_get(t.name, record_id)
            if old is None:
                raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
            if t.name == "User":
                # Users can only be deactivated:
                # https://help.salesforce.com/s/articleView?id=sf.deactivating_users.htm
                # ("You can't delete a user, but you can deactivate an account"); the API refuses the delete.
                raise ApiError(
                    400, "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "entity type cannot be deleted: User"
                )
            self._db.execute("DELETE FROM sobjects WHERE id = ?", (old["Id"],))
            self._mark_write()
            if t.name == "PermissionSetLicenseAssign":
                self._count_license_seats(str(old.get("PermissionSetLicenseId") or ""))

    @staticmethod
    def _field_name(t: SObjectType, name: str) -> str:
        f = t.field(name)
        return f.name if f is not None else name

    def _admin_id(self) -> str:
        return self._seed_id("005", 1)

    # ---- data rules ------------------------------------------------------------------------------------
    def _apply_rules(self, t: SObjectType, row: dict[str, Any], old: dict[str, Any] | None) -> None:
        if t.name == "User":
            self._user_rules(row, old)
        elif t.name == "PermissionSetAssignment":
            self._assignment_rules(row, old)
        elif t.name == "PermissionSetLicenseAssign":
            self._license_assignment_rules(row)
        elif t.name == "CallCoachingMediaProvider" and old is None:
            # Metadata API, CallCoachingMediaProvider.isActive: "Default value is false."
            row["IsActive"] = bool(row.get("IsActive") or False)
        elif t.name == "PermissionSet" and old is None:
            row.setdefault("IsOwnedByProfile", False)
            row.setdefault("IsCustom", True)
            row.setdefault("Type", "Regular")
            row.setdefault("NamespacePrefix", None)
            dup = [
                r for r in self.sobject_find("PermissionSet", Name=row.get("Name")) if r["Id"] != row["Id"]
            ]
            if dup:
                raise ApiError(
                    400, "DUPLICATE_DEVELOPER_NAME", "The API name you provided is already in use", ["Name"]
                )

    def _user_rules(self, row: dict[str, Any], old: dict[str, Any] | None) -> None:
        username = str(row.get("Username") or "")
        if "@" not in username:
            # Username must be in the form of an email address (Object Reference, User.Username).
            raise ApiError(
                400,
                "INVALID_NEW_USERNAME" if old is None else "INVALID_USERNAME",
                f"Username must be in the form of an email address (for example, john@acme.com): {username}",
                ["Username"],
            )
        row["Username"] = username.lower()
        clash = [r for r in self.sobject_find("User", Username=username) if r["Id"] != row["Id"]]
        if clash or username.lower() in self.foreign_usernames():
            # Usernames are unique across all orgs (deactivated users keep theirs); a name taken here or
            # in another org (foreign_usernames, set through the controls) gets DUPLICATE_USERNAME.
            raise ApiError(
                400,
                "DUPLICATE_USERNAME",
                "Duplicate Username.<br>The username already exists in this or another Salesforce "
                "organization. Usernames must be unique across all Salesforce organizations. To "
                "resolve, use a different username (it doesn't need to match the user's email "
                "address). ",
                ["Username"],
            )
        profile = self._referenced(row, "ProfileId", "Profile")
        row["UserType"] = profile.get("UserType", "Standard")
        row.setdefault("IsActive", True)
        row.setdefault("FirstName", None)
        row["Name"] = " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p)
        if old is not None and old["Id"] == self._admin_id() and row.get("IsActive") is False:
            raise ApiError(
                400,
                "FIELD_INTEGRITY_EXCEPTION",
                "You cannot deactivate a user who is the org's only system administrator.",
                ["IsActive"],
            )

    def foreign_usernames(self) -> set[str]:
        """Usernames taken in other (imaginary) orgs: usernames are global across Salesforce."""
        return set(json.loads(self._meta("foreign_usernames") or "[]"))

    def add_foreign_usernames(self, names: list[str]) -> None:
        with self.transaction():
            taken = self.foreign_usernames() | {n.lower() for n in names}
            self._set_meta("foreign_usernames", json.dumps(sorted(taken)))

    def _assignment_rules(self, row: dict[str, Any], old: dict[str, Any] | None) -> None:
        if old is not None:
            for f in ("PermissionSetId", "AssigneeId"):
                if normalize_id(str(row.get(f) or "")) != old[f]:
                    raise ApiError(
                        400,
                        "INVALID_FIELD_FOR_INSERT_UPDATE",
                        f"Unable to create/update fields: {f}. Please check the security settings of "
                        "this field and verify that it is read/write for your profile or permission "
                        "set.",
                        [f],
                    )
            return
        ps = self._referenced(row, "PermissionSetId", "PermissionSet")
        user = self._referenced(row, "AssigneeId", "User")
        row.setdefault("IsActive", True)
        if self.sobject_find("PermissionSetAssignment", PermissionSetId=ps["Id"], AssigneeId=user["Id"]):
            # The message Salesforce gives (and `sf org assign permset` tools match on):
            # "Duplicate PermissionSetAssignment. Assignee: <user>; Permission Set: <set>".
            raise ApiError(
                400,
                "DUPLICATE_VALUE",
                f"Duplicate PermissionSetAssignment. Assignee: {user['Id']}; Permission Set: {ps['Id']}",
            )
        if str(ps.get("LicenseId") or "").startswith(PERMISSION_SET_LICENSE_PREFIX):
            if not self.sobject_find(
                "PermissionSetLicenseAssign", AssigneeId=user["Id"], PermissionSetLicenseId=ps["LicenseId"]
            ):
                # Salesforce Help KB 000390789: assigning a permission set whose license the user lacks is
                # refused with "Can't assign permission set <set> to user <user>. The permission set contains
                # an object that requires a license. Before continuing, assign the user to the related
                # permission set license." The status code is our reading (the one the user-license mismatch
                # below answers).
                raise ApiError(
                    400,
                    "FIELD_INTEGRITY_EXCEPTION",
                    f"Can't assign permission set {ps.get('Label') or ps.get('Name')} to user "
                    f"{user.get('Name')}. The permission set contains an object that requires a license. "
                    "Before continuing, assign the user to the related permission set license.",
                    ["PermissionSetId"],
                )
        elif ps.get("LicenseId"):
            profile = self.sobject_get("Profile", user["ProfileId"]) or {}
            if profile.get("UserLicenseId") != ps["LicenseId"]:
                # Object Reference, PermissionSetAssignment: "if the PermissionSet has a UserLicenseId, its
                # UserLicenseId and the Profile UserLicenseId must match" (the field is LicenseId since v22).
                raise ApiError(
                    400,
                    "FIELD_INTEGRITY_EXCEPTION",
                    "The user license doesn't match the user license of the permission set.",
                    ["PermissionSetId"],
                )

    def _referenced(self, row: dict[str, Any], field: str, sobject: str) -> dict[str, Any]:
        """The record a reference field names (its Id written back in 18-character form); a field naming none
        is INVALID_CROSS_REFERENCE_KEY, as the API answers it."""
        target = self.sobject_get(sobject, str(row.get(field) or ""))
        if target is None:
            raise ApiError(
                400, "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {row.get(field)}", [field]
            )
        row[field] = target["Id"]
        return target

    def _license_assignment_rules(self, row: dict[str, Any]) -> None:
        """A permission set license assignment: a real license and user, once per pair, within the seats."""
        psl = self._referenced(row, "PermissionSetLicenseId", "PermissionSetLicense")
        user = self._referenced(row, "AssigneeId", "User")
        row.setdefault("IsRevoked", False)
        held = self.sobject_find("PermissionSetLicenseAssign", PermissionSetLicenseId=psl["Id"])
        mine = [r for r in held if r["AssigneeId"] == user["Id"] and r["Id"] != row["Id"]]
        if mine:
            # The API's wording for a second record on a unique key: "duplicate value found: <field>
            # duplicates value on record with id: <id>" (<unknown> where the key spans several fields).
            raise ApiError(
                400,
                "DUPLICATE_VALUE",
                f"duplicate value found: <unknown> duplicates value on record with id: {mine[0]['Id']}",
            )
        if len(held) >= int(psl.get("TotalLicenses") or 0):
            # Salesforce Help KB 000387847 ("Error 'License limit exceeded' when you use API to assign feature
            # licenses"): "License limit exceeded" once the available count is used up; LICENSE_LIMIT_EXCEEDED
            # is the API's StatusCode for it.
            raise ApiError(
                400, "LICENSE_LIMIT_EXCEEDED", "License limit exceeded", ["PermissionSetLicenseId"]
            )

    def _count_license_seats(self, psl_id: str) -> None:
        """PermissionSetLicense.UsedLicenses: its assignments, counted again after each insert or delete."""
        psl = self.sobject_get("PermissionSetLicense", psl_id)
        if psl is None:
            return
        used = len(self.sobject_find("PermissionSetLicenseAssign", PermissionSetLicenseId=psl["Id"]))
        if psl.get("UsedLicenses") != used:
            self._write_row(self._canonical("PermissionSetLicense"), {**psl, "UsedLicenses": used})

    # ---- the Aircall company the org's voice connector talks to -----------------------------------------
    def aircall_add_users(self, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """New Aircall users, each ``{"email", "name"}``; their stored records (with ``id``), in order.

        Aircall's user ids are integers (``user.id``); emails are unique within the company."""
        with self.transaction():
            taken = {str(u["email"]).lower() for u in self.aircall_users()}
            added: list[dict[str, Any]] = []
            for user in users:
                email, name = user.get("email"), user.get("name")
                if not isinstance(email, str) or "@" not in email or not isinstance(name, str) or not name:
                    raise ApiError(400, "INVALID_FIELD", 'each user needs an "email" and a "name"')
                if email.lower() in taken:
                    raise ApiError(400, "DUPLICATE_VALUE", f"an Aircall user has the email {email} already")
                taken.add(email.lower())
                user_id = int(self._meta("aircall_user_id") or "100000") + 1
                self._set_meta("aircall_user_id", str(user_id))
                record = {"id": user_id, "email": email, "name": name, "created_at": _aircall_time()}
                self._db.execute(
                    "INSERT INTO aircall_users (id, data) VALUES (?, ?)", (user_id, json.dumps(record))
                )
                self._mark_write()
                added.append(record)
            return added

    def aircall_users(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT data FROM aircall_users ORDER BY id").fetchall()
        return [dict(json.loads(r[0])) for r in rows]

    # ---- login credentials -------------------------------------------------------------------------------
    def set_password(self, user_id: str, password: str, security_token: str | None = None) -> None:
        """A user's password (kept hashed), and its security token when given ("" = none)."""
        with self.transaction():
            self._set_meta(f"password:{user_id}", password_hash(user_id, password))
            if security_token is not None:
                self._set_meta(f"security_token:{user_id}", security_token)
            self._mark_write()

    def check_password(self, user_id: str, password: str) -> bool:
        """Whether `password` logs `user_id` in: the password followed by the user's security token, if it has
        one. The API wants password + security token unless the caller's IP is trusted (SOAP API Developer
        Guide, "login()"); the seeded admin has no token (login IP ranges cover loopback)."""
        stored = self.meta(f"password:{user_id}")
        token = self.meta(f"security_token:{user_id}") or ""
        if stored is None:
            return False
        if token and password.endswith(token):
            password = password[: -len(token)]
        elif token:
            return False
        return hmac.compare_digest(stored, password_hash(user_id, password))

    # ---- sessions ----------------------------------------------------------------------------------------
    def admin_token(self) -> str:
        return str(self.meta("admin_token"))

    def admin_password(self) -> str:
        return str(self.meta("admin_password"))

    def admin_user_id(self) -> str:
        return self._admin_id()

    def new_session(self, user_id: str, kind: str = "oauth") -> str:
        token = f"{self.organization_id()[:15]}!{secrets.token_urlsafe(48)}"
        with self.transaction():
            self._db.execute(
                "INSERT INTO sessions (token, user_id, issued_at, kind) VALUES (?, ?, ?, ?)",
                (token, user_id, _time(), kind),
            )
        return token

    def session_user(self, token: str) -> str | None:
        """The user a live session belongs to; None when unknown or timed out.

        The timeout (session_seconds) counts from the last activity, and, as on Salesforce, activity only
        extends the session once half of the timeout has passed (Salesforce Help, "Session Security Settings":
        "The last active session time value isn't updated until halfway through the timeout period", quoted at
        https://salesforce.stackexchange.com/q/228678); so a busy session costs one write per half-timeout.
        """
        timeout = float(self.settings.get("session_seconds", 7200))
        with self._lock:
            row = self._db.execute(
                "SELECT user_id, issued_at FROM sessions WHERE token = ?", (token,)
            ).fetchone()
            if row is None:
                return None
            now = _time()
            idle = now - float(row[1])
            if idle >= timeout:
                return None
            if idle >= timeout / 2:
                with self.transaction():
                    self._db.execute("UPDATE sessions SET issued_at = ? WHERE token = ?", (now, token))
        user = self.sobject_get("User", row[0])
        if user is None or not user.get("IsActive", True):
            return None
        return str(row[0])

    def refresh_admin_session(self) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO sessions (token, user_id, issued_at, kind) VALUES (?,?,?,?)",
                (self.admin_token(), self._admin_id(), _time(), "admin"),
            )

    def end_session(self, token: str) -> bool:
        """Revoke an access token (OAuth revoke, SOAP logout); True if it was a live session."""
        with self.transaction():
            gone = self._db.execute("DELETE FROM sessions WHERE token = ?", (token,)).rowcount
        return bool(gone)

    @staticmethod
    def refresh_session_kind(refresh_token: str) -> str:
        """The ``kind`` of a session issued from a refresh token: links it to that token (by digest) so
        revoking the refresh token ends those sessions too."""
        return "refresh:" + hashlib.sha256(refresh_token.encode()).hexdigest()[:32]

    def revoke_refresh_token(self, token: str) -> bool:
        """Salesforce Help, "Revoke OAuth Tokens": revoking a refresh token also revokes the access tokens
        issued from it."""
        with self.transaction():
            gone = self._db.execute("DELETE FROM refresh_tokens WHERE token = ?", (token,)).rowcount
            if gone:
                self._db.execute("DELETE FROM sessions WHERE kind = ?", (self.refresh_session_kind(token),))
        return bool(gone)

    def new_refresh_token(self, user_id: str, client_id: str) -> str:
        token = "5Aep" + secrets.token_urlsafe(64)
        with self.transaction():
            self._db.execute(
                "INSERT INTO refresh_tokens (token, user_id, client_id) VALUES (?, ?, ?)",
                (token, user_id, client_id),
            )
        return token

    def refresh_token_owner(self, token: str) -> tuple[str, str] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT user_id, client_id FROM refresh_tokens WHERE token = ?", (token,)
            ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    # ---- seed ----------------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the seeded org: same admin token and password, settings restored, ids never reused."""
        with self.transaction():
            self._db.execute("DELETE FROM sobjects")
            self._db.execute("DELETE FROM metadata")
            self._db.execute("DELETE FROM sessions")
            self._db.execute("DELETE FROM refresh_tokens")
            self._db.execute("DELETE FROM aircall_users")
            self._db.execute(
                "DELETE FROM meta WHERE key LIKE 'password:%' OR key LIKE 'security_token:%' "
                "OR key LIKE 'password_expired:%' "
                "OR key = 'foreign_usernames'"
            )
            admin = self._admin_id()
            self._set_meta(f"password:{admin}", password_hash(admin, self._meta("admin_password") or ""))
            seeded_key = self._meta("aircall_seeded_api_token")
            if seeded_key:  # the Aircall key the emulator started with (POST /__emulator/aircall/key)
                self._set_meta("aircall_api_token", seeded_key)
            self._set_meta("settings", json.dumps(DEFAULT_SETTINGS))
            dict.clear(self.settings)
            dict.update(self.settings, copy.deepcopy(DEFAULT_SETTINGS))
            self._seed()
            self._sync_instance_url()
            self._mark_write()

    def _seed(self) -> None:
        now = _now()
        admin = self._admin_id()

        def put(sobject: str, n: int, **fields: Any) -> str:
            t = SCHEMA[sobject.lower()]
            rid = self._org_id() if t.name == "Organization" else self._seed_id(t.key_prefix, n)
            row = {
                "Id": rid,
                **fields,
                "CreatedDate": now,
                "LastModifiedDate": now,
                "SystemModstamp": now,
                "CreatedById": admin,
                "LastModifiedById": admin,
            }
            self._db.execute(
                "INSERT OR REPLACE INTO sobjects (id, sobject, data) VALUES (?, ?, ?)",
                (rid, t.name, json.dumps(row)),
            )
            return rid

        put(
            "Organization",
            0,
            Name="ECI Emulator Org",
            OrganizationType="Enterprise Edition",
            InstanceName="EMU1",
            IsSandbox=True,
            NamespacePrefix=None,
            LanguageLocaleKey="en_US",
            TimeZoneSidKey="America/Los_Angeles",
            DefaultLocaleSidKey="en_US",
            Country="US",
            TrialExpirationDate=None,
        )
        put(
            "UserPermissionAccess",
            1,
            PermissionsApiEnabled=True,
            PermissionsAuthorApex=True,
            PermissionsCustomizeApplication=True,
        )
        put("Domain", 1, Domain="127.0.0.1", DomainType="DNS", HttpsOption="Community", CnameTarget=None)
        sf_lic = put(
            "UserLicense",
            1,
            Name="Salesforce",
            MasterLabel="Salesforce",
            LicenseDefinitionKey="SFDC",
            Status="Active",
            TotalLicenses=100,
            UsedLicenses=1,
        )
        guest_lic = put(
            "UserLicense",
            2,
            Name="Guest User License",
            MasterLabel="Guest User License",
            LicenseDefinitionKey="PID_Guest_User",
            Status="Active",
            TotalLicenses=25,
            UsedLicenses=0,
        )
        admin_profile = put(
            "Profile",
            1,
            Name="System Administrator",
            UserLicenseId=sf_lic,
            UserType="Standard",
            Description=None,
            PermissionsApiEnabled=True,
        )
        put(
            "Profile",
            2,
            Name="Standard User",
            UserLicenseId=sf_lic,
            UserType="Standard",
            Description=None,
            PermissionsApiEnabled=True,
        )
        # Each site gets its own guest profile named after it; the seeded one is for the guide's site name.
        put(
            "Profile",
            3,
            Name=GUEST_PROFILE,
            UserLicenseId=guest_lic,
            UserType="Guest",
            Description=None,
            PermissionsApiEnabled=False,
        )
        put(
            "Profile",
            4,
            Name="Guest License User",
            UserLicenseId=guest_lic,
            UserType="Guest",
            Description=None,
            PermissionsApiEnabled=False,
        )
        put(
            "User",
            1,
            Username=ADMIN_USERNAME,
            FirstName="Emulator",
            LastName="Admin",
            Name="Emulator Admin",
            Email=ADMIN_USERNAME,
            Alias="eadmin",
            CommunityNickname="eadmin",
            TimeZoneSidKey="America/Los_Angeles",
            LocaleSidKey="en_US",
            EmailEncodingKey="UTF-8",
            LanguageLocaleKey="en_US",
            ProfileId=admin_profile,
            IsActive=True,
            UserType="Standard",
            FederationIdentifier=None,
            Title=None,
            Department=None,
            CompanyName=None,
        )
        # The managed package's permission sets carry no user license, so they can go on a site guest user, as
        # the guide requires; they live in the package namespace but are addressed by Name.
        seeded_sets: list[tuple[str, str, str | None]] = [
            ("Voice_Connector_Permission", "Voice Connector Permission", None),
            ("Conversation_Insights_Integration_User", "Conversation Insights Integration User", None),
            ("Einstein_Conversation_Insights", "Einstein Conversation Insights", None),
            # License-bound: proves that assigning a set whose license the user lacks fails.
            ("Salesforce_License_Only", "Salesforce License Only", sf_lic),
        ]
        # Object Reference, "PermissionSetLicense": MasterLabel, DeveloperName, TotalLicenses, UsedLicenses.
        licenses = {
            name: put(
                "PermissionSetLicense",
                n,
                DeveloperName=name,
                MasterLabel=label,
                PermissionSetLicenseKey=name,
                Status="Active",
                TotalLicenses=seats,
                UsedLicenses=0,
                ExpirationDate=None,
                MaximumPermissionsCallCoachingUser=True,
            )
            for n, (name, label, seats) in enumerate(
                [
                    (ECI_PSL, "Einstein Conversation Insights", int(DEFAULT_SETTINGS["eci_license_seats"])),
                    ("SalesEngagementPsl", "Sales Engagement", 0),
                ],
                start=1,
            )
        }
        seeded_sets += [(name, label, licenses.get(psl or "")) for name, label, psl in ECI_PERMISSION_SETS]
        for n, (name, label, lic) in enumerate(seeded_sets, start=1):
            put(
                "PermissionSet",
                n,
                Name=name,
                Label=label,
                Description=None,
                LicenseId=lic,
                IsOwnedByProfile=False,
                ProfileId=None,
                NamespacePrefix=None,
                Type="Regular",
                IsCustom=lic == sf_lic,
            )
        for n, (provider, description) in enumerate(VOICE_CONNECTOR_PROVIDERS, start=1):
            put("CallCoachingMediaProvider", n, **self._provider_fields(provider, description))
        self._set_meta("seeded", "1")
        self._db.execute(
            "INSERT OR REPLACE INTO sessions (token, user_id, issued_at, kind) VALUES (?,?,?,?)",
            (self._meta("admin_token"), admin, _time(), "admin"),
        )

    @staticmethod
    def _provider_fields(provider: str, description: str) -> dict[str, Any]:
        return {
            "ProviderName": provider,
            "ProviderDescription": description,
            "IsActive": False,
            "ConversationVendorInfoId": None,
        }

    def _sync_voice_connector_providers(self) -> None:
        """The package's provider records exist exactly while it is installed (a reinstall brings them back
        inactive)."""
        installed = bool(self.setting("voice_connector_installed"))
        for provider, description in VOICE_CONNECTOR_PROVIDERS:
            rows = self.sobject_find("CallCoachingMediaProvider", ProviderName=provider)
            if installed and not rows:
                self.sobject_insert("CallCoachingMediaProvider", self._provider_fields(provider, description))
            for row in rows if not installed else []:
                self.sobject_delete("CallCoachingMediaProvider", row["Id"])

    def _sync_instance_url(self) -> None:
        """My Domain = the instance URL; the port may change between runs, so the Domain row follows it."""
        from urllib.parse import urlparse

        host = urlparse(self.instance_url).netloc or "127.0.0.1"
        dom = self._seed_id("0I4", 1)
        row = self._db.execute("SELECT data FROM sobjects WHERE id = ?", (dom,)).fetchone()
        if row is not None:
            data = json.loads(row[0])
            if data.get("Domain") != host:
                data["Domain"] = host
                self._db.execute("UPDATE sobjects SET data = ? WHERE id = ?", (json.dumps(data), dom))
        self._sync_org_row()

    def _sync_org_row(self) -> None:
        oid = self._org_id()
        row = self._db.execute("SELECT data FROM sobjects WHERE id = ?", (oid,)).fetchone()
        if row is None or not hasattr(self, "settings"):
            return
        data = json.loads(row[0])
        edition = f"{self.settings.get('edition', 'Enterprise')} Edition"
        sandbox = bool(self.settings.get("sandbox", True))
        if data.get("OrganizationType") != edition or data.get("IsSandbox") != sandbox:
            data["OrganizationType"] = edition
            data["IsSandbox"] = sandbox
            self._db.execute("UPDATE sobjects SET data = ? WHERE id = ?", (json.dumps(data), oid))

    def _org_id(self) -> str:
        return self._meta("org_id") or LEGACY_ORG_ID

    def organization_id(self) -> str:
        with self._lock:
            return self._org_id()

    def close(self) -> None:
        with self._lock:
            self._db.close()


def password_hash(user_id: str, password: str) -> str:
    return hashlib.sha256(f"{user_id}:{password}".encode()).hexdigest()


def _time() -> float:
    import time

    return time.time()


def _aircall_time() -> str:
    """Aircall's timestamps, ISO 8601 in UTC ("2020-03-27T10:21:39.000Z")."""
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
