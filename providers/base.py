"""Base classes for eci-aircall's dynamic providers: check, diff, create (adopt), read, update, delete.

A provider module declares only what is particular to its artifact; everything else lives here::

    class CustomSiteInputs(ArtifactInputs):              # pydantic: the ONE declaration of the inputs
        full_name: str = guide.SITE_NAME                 # check() turns errors into CheckFailures
        label: str = guide.SITE_NAME
        active: bool = True

    class CustomSiteProvider(MetadataProvider):
        kind = "CustomSite"                              # Metadata type (SObjectProvider: the sObject)
        inputs_model = CustomSiteInputs
        name_field = "full_name"                         # unique name: adopt lookup key (and id for Metadata)
        field_map = {"full_name": "fullName", "label": "masterLabel", "active": "active"}  # dotted = nested
        replace_keys = frozenset({"full_name"})          # changes that need delete-then-create
        secret_fields = frozenset()                      # write-only secrets: state keeps <field>_hash only
        computed = ("guest_user_id",)                    # outputs besides the inputs (see computed_outputs)

    class CustomSite(ArtifactResource, module="eci-aircall", name="CustomSite"):
        provider_class = CustomSiteProvider              # keyword arguments: CustomSiteInputs' fields
        guest_user_id: pulumi.Output[str]

Shape of the state (outputs) of every resource: each non-secret input under its own name; for each secret
(write-only) input ``<field>_hash`` (salted PBKDF2, so a changed input is detected without keeping the value);
``adopted`` (True when create found the artifact already there); the module's computed outputs; and, when the
module has write-only fields, ``write_only_fields`` naming them (their drift cannot be seen by ``refresh``).
Computed outputs listed in ``secret_outputs`` are returned wrapped as secrets.

Hooks a module may override (all optional): ``prepare`` (read-only lookups/validation before any write: bad
input fails here with 0 writes; returns the Salesforce record to write), ``to_salesforce`` /
``from_salesforce`` (field mapping), ``find`` / ``read_live`` / ``create_live`` / ``update_live`` /
``delete_live`` (the calls), ``computed_outputs``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import secrets as pysecrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar

import pulumi
import pulumi.dynamic as dyn
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

import salesforce
from salesforce import ConnectionSettings, SalesforceClient, SalesforceError
from salesforce.settings import ACCESS_TOKEN, INSTANCE_URL

log = logging.getLogger(__name__)

PROVIDER_KEY = "__provider"
#: Output naming the org the stack is bound to: ``{"id": Organization Id, "instance_url", "sandbox"?}``.
ORG_OUTPUT = "org"
#: Output holding the ``observed`` values as they were before the last measurement (see ``observed_changes``).
OBSERVED_BEFORE = "observed_before"
HASH_ITERATIONS = 20_000

# Salesforce's own check is looser than RFC 5322 but needs one "@" and a dotted domain (Object Reference,
# User.Email, "Type: email"); this catches typos before any call without an email-validation library.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("is not an email address (expected name@example.com)")
    return value


Email = Annotated[str, AfterValidator(_check_email)]

# API names (fullName, URL suffix): a letter first, then letters, digits and single underscores, no
# trailing underscore (Setup's rule for every "API Name"/"Name" field).
DEVELOPER_NAME = r"^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*$"


class ArtifactInputs(BaseModel):
    """Base of every module's input model. Unknown keys (output placeholders) are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=False)

    #: An artifact that create found already in the org (``adopted``) is left alone on delete unless set.
    delete_adopted: bool = False


class AdoptableInputs(ArtifactInputs):
    """Inputs of an artifact whose settings the stack writes. One that is in the org already and that this
    stack did not create is someone else's: create takes it over only when the config opts in
    (``adopt_existing``), and otherwise refuses it before writing anything to it."""

    adopt_existing: bool = False


class InputError(SalesforceError):
    """Bad input found by a read-only look-up (unknown profile, permission set ...); raised before writes."""

    def __init__(self, message: str, *, artifact: str = "", hint: str = "") -> None:
        super().__init__("INVALID_INPUT", message, artifact=artifact, hint=hint, service="eci-aircall")


@dataclass
class Live:
    """An artifact as read from the org: its id, its values under the *input* names, the raw record."""

    id: str
    values: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict)
    #: What tells this artifact from a same-named one made later (see ``ArtifactProvider.identity``).
    identity: dict[str, Any] | None = None


def parse_salesforce_time(value: Any) -> float | None:
    """A Salesforce dateTime (REST ``2026-01-01T10:00:00.000+0000``, SOAP ``...Z``) as a POSIX time."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


# ----------------------------------------------------------------------------------------------------
# Value helpers.
# ----------------------------------------------------------------------------------------------------
def is_unknown(value: Any) -> bool:
    """Unknown in a preview — also a list or map with an unknown element (e.g. ``[ps.name, "x"]``)."""
    if isinstance(value, list | tuple):
        return any(is_unknown(v) for v in value)
    if isinstance(value, dict) and not rpc.is_rpc_secret(value):
        return any(is_unknown(v) for v in value.values())
    return isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN)


def normalize(value: Any) -> Any:
    """Protobuf carries every number as a float: 1.0 and 1 are the same input."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list | tuple):
        return [normalize(v) for v in value]
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    return value


def unwrap(props: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Props without the secret wrappers, and the names that were secret."""
    plain: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in props.items():
        if rpc.is_rpc_secret(value):
            secret.add(key)
            value = rpc.unwrap_rpc_secret(value)
        plain[key] = value
    return plain, secret


def hash_secret(value: str, salt: str | None = None) -> str:
    salt = salt or pysecrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", value.encode(), bytes.fromhex(salt), HASH_ITERATIONS).hex()
    return f"pbkdf2-sha256${salt}${digest}"


def secret_matches(value: str, stored: Any) -> bool:
    if not isinstance(stored, str) or stored.count("$") != 2:
        return False
    _, salt, _digest = stored.split("$")
    try:
        return hmac.compare_digest(hash_secret(value, salt), stored)
    except ValueError:
        return False


def get_path(record: Mapping[str, Any] | None, path: str) -> Any:
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def set_path(record: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    current = record
    for part in parts[:-1]:
        current = current.setdefault(part, {})
    current[parts[-1]] = value


def merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge of dicts (overlay wins); lists and scalars are replaced."""
    result = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


@dataclass
class JournalEntry:
    path: Path | None
    started: float
    #: The record Id of the artifact the create made, once the call has returned it.
    made: str | None = None
    #: Salesforce answered the create call with success, before its record Id was known (a Metadata create
    #: answers a full name, not an Id: the Id takes one more call, which can fail or never come).
    confirmed: bool = False


class CreateJournal:
    """Creates this stack made or began: the mark of ownership for a crash mid-``up``.

    The engine records a create only when the provider's reply reaches it (pulumi/pulumi
    pkg/resource/deploy/step.go, CreateStep.Apply; the snapshot is written after the step). When the provider
    process dies with a create in flight, or after the create returned but before its reply was delivered,
    Salesforce has the artifact and the state does not (the CLI only reports a pending operation). The next
    ``up`` then finds the artifact by name and, without this, would record it as ``adopted`` — so ``destroy``
    would leave it behind. An entry is written just before the create call; once the call has made the
    artifact, the entry names it (``made``: its record Id) and stays, since the reply can still be lost.
    An entry is removed when the create failed for certain or an adoption used it up, and expires after
    ``MAX_AGE_SECONDS``.

    An entry is keyed by org, stack and artifact, and claims the artifact found later only by proof: the
    record Id its create returned (``made``). Never by creator and time alone (issue 21, M1): two stacks of
    one org are often run by the same admin, and a person in Setup logs in as that admin too, so "made after
    the entry, by the connecting user" fits another stack's artifact as well. An entry whose create was cut
    short before Salesforce returned the Id proves nothing: the artifact found is refused as not provably
    this stack's, naming the config opt-in (``before_adopt``). Entries live under
    ``ECI_CREATE_JOURNAL_DIR`` (default ``~/.eci-aircall/pending-creates``), owner-only (folder 0700, files
    0600), one file per (org, stack, artifact) named by a hash; they hold no secret. A journal that cannot
    be written only loses this refinement: create goes on.
    """

    MAX_AGE_SECONDS = 24 * 3600
    #: Clock skew allowed between this machine and the org when comparing a creation time with an entry.
    CLOCK_SKEW_SECONDS = 120

    def __init__(self, root: Path | None = None) -> None:
        configured = os.environ.get("ECI_CREATE_JOURNAL_DIR")
        self.root = root or (
            Path(configured) if configured else Path.home() / ".eci-aircall" / "pending-creates"
        )

    def _path(self, org: str, stack: str, artifact: str) -> Path:
        key = hashlib.sha256(f"{org.lower()}\0{stack}\0{artifact}".encode()).hexdigest()
        return self.root / f"{key}.json"

    def _ensure_root(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkdir's mode applies only to a folder it creates (and is masked by the umask): tighten an older one.
        if self.root.stat().st_mode & 0o077:
            self.root.chmod(0o700)

    def begin(self, org: str, stack: str, artifact: str) -> JournalEntry:
        entry = JournalEntry(self._path(org, stack, artifact), time.time())
        try:
            self._ensure_root()
            self._write(entry, {"org": org, "stack": stack, "artifact": artifact})
            self._sweep()
        except OSError as exc:
            log.warning(
                "create journal not writable (%s); a crash mid-create would look like an adoption", exc
            )
            return JournalEntry(None, entry.started)
        return entry

    def made(
        self,
        entry: JournalEntry | None,
        identity: Mapping[str, Any] | None,
        org: str,
        stack: str,
        artifact: str,
    ) -> None:
        """The create of ``entry`` made the artifact with ``identity``: name it in the entry, which stays.
        Without a record Id to name, the entry stays as begun: it claims nothing."""
        made = (identity or {}).get("id")
        if entry is None or entry.path is None or not made:
            return
        entry.made = str(made)
        try:
            self._write(entry, {"org": org, "stack": stack, "artifact": artifact, "made": entry.made})
        except OSError as exc:
            log.warning("create journal entry not updated (%s); it claims nothing", exc)

    def confirm(self, entry: JournalEntry | None, org: str, stack: str, artifact: str) -> None:
        """Salesforce has answered the create of ``entry`` with success: the artifact of that name is the one
        this create made (another create of the name would have met DUPLICATE), even before its record Id
        is known. Written at once, so that a failure of the Id look-up (a daily limit, a crash) leaves it
        provably this stack's."""
        if entry is None or entry.path is None:
            return
        entry.confirmed = True
        try:
            self._write(entry, {"org": org, "stack": stack, "artifact": artifact, "confirmed": True})
        except OSError as exc:
            log.warning("create journal entry not updated (%s); it claims nothing", exc)

    @staticmethod
    def _write(entry: JournalEntry, data: dict[str, Any]) -> None:
        assert entry.path is not None
        tmp = entry.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({**data, "started": entry.started}, handle)
        os.replace(tmp, entry.path)

    def _sweep(self) -> None:
        """Remove half-written entries a killed process left behind (they never became entries) and entries
        past their age (an artifact the stack made long ago is the state's business, not the journal's)."""
        now = time.time()
        for leftover in self.root.glob("*.tmp"):
            with contextlib.suppress(OSError):
                if now - leftover.stat().st_mtime > 60:
                    leftover.unlink()
        for old in self.root.glob("*.json"):
            with contextlib.suppress(OSError):
                if now - old.stat().st_mtime > self.MAX_AGE_SECONDS:
                    old.unlink()

    def end(self, entry: JournalEntry | None) -> None:
        if entry is not None and entry.path is not None:
            with contextlib.suppress(OSError):
                entry.path.unlink()

    def pending(self, org: str, stack: str, artifact: str) -> JournalEntry | None:
        """The entry of a create of this artifact this stack began and never finished (None: none, stale)."""
        path = self._path(org, stack, artifact)
        try:
            data = json.loads(path.read_text())
            started = float(data.get("started", 0))
        except (OSError, ValueError, AttributeError):
            return None
        if data.get("org") != org or data.get("stack") != stack or data.get("artifact") != artifact:
            return None
        made = data.get("made")
        entry = JournalEntry(path, started, str(made) if made else None, data.get("confirmed") is True)
        if time.time() - started < self.MAX_AGE_SECONDS:
            return entry
        self.end(entry)
        return None

    @staticmethod
    def claims(entry: JournalEntry, identity: Mapping[str, Any] | None) -> bool:
        """Whether the artifact with ``identity`` (found under the entry's name) is the one the entry's create
        made: the record Id the create returned, or, before that Id was known, Salesforce's success answer to
        the create itself (``confirm``). Never creator and time alone."""
        if not identity:
            return False
        if entry.made:
            return same_id(identity.get("id"), entry.made)
        return entry.confirmed

    @classmethod
    def made_by_this_call(
        cls, entry: JournalEntry, identity: Mapping[str, Any] | None, creator_id: str | None
    ) -> bool:
        """Whether ``identity`` is what this very create call made when its request was sent and its answer
        lost (a retry then meets DUPLICATE): created by ``creator_id`` (None for a type that records no
        creator) between the moment the call began and now (the org's clock, give or take the skew). The
        window is the call's own seconds, not an entry's day."""
        if not identity:
            return False
        created = parse_salesforce_time(identity.get("created_date"))
        if created is None or created < entry.started - cls.CLOCK_SKEW_SECONDS:
            return False
        if created > time.time() + cls.CLOCK_SKEW_SECONDS:
            return False
        return creator_id is None or same_id(identity.get("created_by_id"), creator_id)


def _same_url(a: Any, b: Any) -> bool:
    return bool(a) and bool(b) and str(a).rstrip("/").lower() == str(b).rstrip("/").lower()


def same_id(a: Any, b: Any) -> bool:
    """Salesforce Ids compare on their first 15 characters (the 18-character form adds a case checksum)."""
    return bool(a) and bool(b) and str(a)[:15] == str(b)[:15]


# ----------------------------------------------------------------------------------------------------
# The provider base.
# ----------------------------------------------------------------------------------------------------
class ArtifactProvider(dyn.ResourceProvider):
    """check / diff / create (adopt) / read / update / delete for one Salesforce artifact type."""

    # --- declarations (a module sets these) ---
    kind: ClassVar[str] = ""
    inputs_model: ClassVar[type[ArtifactInputs]] = ArtifactInputs
    name_field: ClassVar[str] = ""
    field_map: ClassVar[Mapping[str, str]] = {}
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    replace_keys: ClassVar[frozenset[str]] = frozenset()
    computed: ClassVar[tuple[str, ...]] = ()
    secret_outputs: ClassVar[frozenset[str]] = frozenset()
    #: Outputs measured in the org rather than set by the program (a named credential's health). ``create``
    #: and ``read`` (refresh) measure them with ``observe``; ``update`` measures again only when one of
    #: ``observed_by`` (or the name) changed, else keeps the last measurement: a no-op ``up`` makes no call.
    #: A refresh reports a change when a measurement differs from the one before (``observed_changes``).
    observed: ClassVar[tuple[str, ...]] = ()
    observed_by: ClassVar[frozenset[str]] = frozenset()
    #: False: create first and adopt on DUPLICATE_VALUE (one call fewer when the artifact is usually new).
    find_before_create: ClassVar[bool] = True
    #: True when the state id is a name another artifact can take after ours is deleted (Metadata fullName):
    #: then update and delete check the recorded ``identity`` before writing. An sObject's id is its record
    #: Id, which no other record ever gets.
    identity_by_name: ClassVar[bool] = False
    #: False for a type Salesforce keeps no creator for (a permission set assignment): the create journal
    #: then claims by creation time alone.
    records_creator: ClassVar[bool] = True

    #: The hint naming the config that opts in to taking over an artifact of this kind that exists and was
    #: not created by this stack (see ``before_adopt``).
    adopt_opt_in: ClassVar[str] = ""

    #: ``<project>/<stack>`` of the program that registered the resource: scopes the create journal. Set by
    #: ArtifactResource before the provider is serialized into the resource's inputs.
    stack: str = ""

    # Connection settings arrive in configure() after unpickling; never pickled (see __getstate__).
    _settings: ConnectionSettings | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def configure(self, req: dyn.ConfigureRequest) -> None:
        self._settings = ConnectionSettings.from_config(req.config)

    @property
    def client(self) -> SalesforceClient:
        """The shared, lazily-connected client (no call happens until a method of it is used)."""
        if self._settings is None:
            raise salesforce.ConfigurationError(
                "the provider was not configured with a Salesforce connection",
                hint=f"set {INSTANCE_URL.full_name} + {ACCESS_TOKEN.full_name} (or sfdxAuthUrl, or JWT keys)",
            )
        return salesforce.client_for(self._settings)

    def org_key(self) -> str:
        """Which org this provider works on (its instance URL): scopes the create journal."""
        return self.client.instance_url

    def connecting_user_id(self) -> str:
        """The Id of the user this provider connects as (the creator a create journal entry expects)."""
        return self.client.current_user_id()

    # --- the org the stack is bound to ---
    #
    # The first operation that touches the org records its Organization Id in the outputs (``org``); every
    # later one whose login reaches another org refuses before reading or writing anything (issue 21, M3:
    # a machine-local `sf` alias re-pointed at production made refresh drop the state and up create there).
    # Learnt with no call of its own (SalesforceClient.org_id): an access token names its org in its first 15
    # characters, an OAuth login in its identity URL, `sf org display` in result.id. Where only a call would
    # tell (an opaque token, an SFDX auth URL or JWT login not yet made), the configured URL stands in: a My
    # Domain URL belongs to one org, so the same URL as recorded is the same org and a no-op preview stays
    # free; another URL costs the login (or userinfo) call that says which org it is.
    def instance_without_call(self) -> str | None:
        """The org URL the configured login goes to, when the config says it (no call); None for targetOrg."""
        settings = self._settings
        if settings is None:
            return None
        if settings.auth_mode in ("access_token", "sfdx_auth_url"):
            return self.client.instance_url  # from the config, no call
        if settings.auth_mode == "jwt":
            return settings.login_url
        return None

    def check_org(self, recorded: Mapping[str, Any]) -> None:
        """Refuse (ORG_MISMATCH) when the login reaches another org than the one ``recorded`` outputs name.
        Outputs without ``org`` (a state from before the binding) are not checked."""
        org = recorded.get(ORG_OUTPUT)
        if not isinstance(org, Mapping) or not org.get("id") or self._settings is None:
            return
        here = self.instance_without_call()
        same_url = bool(here) and _same_url(here, org.get("instance_url"))
        mode = self._settings.auth_mode
        if mode == "access_token":
            if self.client.org_id_without_call() is None and same_url:
                return  # an opaque token on the recorded URL: the same org; userinfo would cost a call
        elif mode != "sf_cli" and same_url:
            return  # the same My Domain: the same org; finding out otherwise would cost a login
        current = self.client.org_id()
        if same_id(current, org["id"]):
            return
        sandbox = org.get("sandbox")
        kind = "an org" if sandbox is None else "a sandbox" if sandbox else "production"
        raise SalesforceError(
            "ORG_MISMATCH",
            f"this stack is bound to org {org['id']} ({kind} at {org.get('instance_url')}, recorded when the "
            f"stack first touched it), but its login now reaches org {current} "
            f"({self.client.instance_url}); nothing was read or written",
            artifact=self.artifact(recorded),
            hint="point this stack's login back at org "
            f"{org['id']} (eci-aircall:targetOrg, or instanceUrl + accessToken, sfdxAuthUrl, or the JWT keys "
            f"username/clientId/privateKey/loginUrl), or give org {current} a stack of its own "
            "(`pulumi stack init <name>`)",
            service="eci-aircall",
        )

    def org_record(self, olds: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The ``org`` output: the recorded one, else the org the login reaches now (no call of its own where
        the login or an earlier call named it). None only for a provider never configured (unit tests)."""
        recorded = (olds or {}).get(ORG_OUTPUT)
        if isinstance(recorded, Mapping) and recorded.get("id"):
            return dict(recorded)
        if self._settings is None:
            return None
        record: dict[str, Any] = {"id": self.client.org_id(), "instance_url": self.client.instance_url}
        sandbox = self.client.org_sandbox()
        if sandbox is not None:
            record["sandbox"] = sandbox
        return record

    # --- names ---
    @classmethod
    def input_names(cls) -> list[str]:
        return list(cls.inputs_model.model_fields)

    @classmethod
    def output_names(cls) -> list[str]:
        names = [n for n in cls.input_names() if n not in cls.secret_fields]
        names += [f"{n}_hash" for n in sorted(cls.secret_fields)]
        names += ["adopted", "identity", ORG_OUTPUT, *cls.computed]
        if cls.secret_fields:
            names.append("write_only_fields")
        if cls.observed:
            names += [*cls.observed, OBSERVED_BEFORE]
        return names

    def artifact(self, inputs: Mapping[str, Any]) -> str:
        name = inputs.get(self.name_field) if self.name_field else None
        return f"{self.kind} {name}" if name and not is_unknown(name) else self.kind

    # --- check ---
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        provider_value = news.get(PROVIDER_KEY)
        plain, secret_names = unwrap({k: v for k, v in news.items() if k != PROVIDER_KEY})
        for name in self.secret_fields:
            salesforce.register_secret(plain.get(name))
        model_fields = self.inputs_model.model_fields
        unknown = {k for k, v in plain.items() if k in model_fields and is_unknown(v)}
        known = {
            k: normalize(v)
            for k, v in plain.items()
            if k in model_fields and k not in unknown and v is not None
        }
        failures: list[dyn.CheckFailure] = []
        validated: dict[str, Any] = {}
        try:
            validated = self.inputs_model.model_validate(known).model_dump()
        except ValidationError as exc:
            for error in exc.errors():
                prop = str(error["loc"][0]) if error["loc"] else ""
                if prop in unknown:
                    continue
                # pydantic's msg never echoes the input; the input itself could be a secret, so it stays out.
                failures.append(dyn.CheckFailure(prop, f"{self.kind}.{prop}: {error['msg']}"))
        inputs: dict[str, Any] = {}
        for name in model_fields:
            if name in unknown:
                inputs[name] = plain[name]
            elif name in validated:
                inputs[name] = validated[name]
            elif name in known:
                inputs[name] = known[name]
        for name, value in list(inputs.items()):
            if (
                (name in self.secret_fields or name in secret_names)
                and value is not None
                and not is_unknown(value)
            ):
                inputs[name] = rpc.wrap_rpc_secret(value)
        inputs.update(self.carried_observations(olds, inputs))
        if provider_value is not None:
            inputs[PROVIDER_KEY] = provider_value
        return dyn.CheckResult(inputs, failures)

    # --- observed outputs (measured in the org) ---
    #
    # The real engine decides what a refresh changed by calling diff(olds = the refreshed outputs, news = the
    # inputs in state) (pulumi/pulumi pkg/resource/deploy/step.go, RefreshStep.Apply: diffResource with the
    # new inputs/outputs as olds and the old inputs as news; ResultOp: DiffNone is "same"), and `refresh
    # --expect-no-changes` fails on any step that is not "same" (pkg/engine/update.go, HasChanges). A value
    # that only appears in the outputs is therefore never reported. So a measurement is kept where that diff
    # sees it: ``read`` returns it in the inputs too (the engine stores them for the next refresh), ``check``
    # carries it from the old inputs into the new ones (so an ``up`` does not lose it), and ``diff`` compares
    # it with the outputs. Right after ``create`` the inputs cannot hold it (they are what check returned
    # before create ran); ``read`` then compares with ``observed_before`` (the outputs' values before it
    # measured), which create sets equal to its own measurement.
    def carried_observations(self, olds: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The last measurements, carried from the old inputs while what they measured is unchanged."""
        if not self.observed or not olds:
            return {}
        old_plain, _ = unwrap(olds)
        keys = {self.name_field, *self.observed_by} - {""}
        if any(normalize(old_plain.get(k)) != normalize(unwrap(dict(inputs))[0].get(k)) for k in keys):
            return {}
        return {n: old_plain[n] for n in self.observed if old_plain.get(n) is not None}

    def observed_changes(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> set[str]:
        """Observed outputs whose value differs from the last one recorded: in the inputs when a refresh put
        it there, else (first refresh after create) in ``observed_before``."""
        changed: set[str] = set()
        before = olds.get(OBSERVED_BEFORE) or {}
        for name in self.observed:
            now = olds.get(name)
            recorded = news.get(name)
            if recorded is None and isinstance(before, Mapping):
                recorded = before.get(name)
            if now is not None and recorded is not None and now != recorded:
                changed.add(name)
        return changed

    def measured(self, artifact_id: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """``observe`` plus ``observed_before`` equal to it (nothing earlier to compare with)."""
        values = self.observe(artifact_id, inputs)
        return {**values, OBSERVED_BEFORE: dict(values)}

    def observe(self, artifact_id: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Measure the ``observed`` outputs (may call Salesforce). Default: nothing observed."""
        return {}

    def _validated(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """Inputs as the model sees them (defaults applied). Raises InputError naming the property."""
        plain, _ = unwrap({k: v for k, v in props.items() if k != PROVIDER_KEY})
        for name in self.secret_fields:
            salesforce.register_secret(plain.get(name))
        known = {
            k: normalize(v) for k, v in plain.items() if k in self.inputs_model.model_fields and v is not None
        }
        try:
            return self.inputs_model.model_validate(known).model_dump()
        except ValidationError as exc:
            first = exc.errors()[0]
            prop = str(first["loc"][0]) if first["loc"] else ""
            raise InputError(f"{prop}: {first['msg']}", artifact=self.artifact(plain)) from None

    # --- diff: no Salesforce call, ever ---
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.DiffResult:
        self.check_org(unwrap(olds)[0])
        changed = self.changed_fields(olds, news) | self.observed_changes(unwrap(olds)[0], unwrap(news)[0])
        replaces = sorted(changed & self.replace_keys)
        return dyn.DiffResult(
            changes=bool(changed), replaces=replaces, stables=[], delete_before_replace=True
        )

    def changed_fields(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> set[str]:
        old_plain, _ = unwrap(olds)
        new_plain, _ = unwrap(news)
        defaults = {
            n: f.get_default(call_default_factory=True)
            for n, f in self.inputs_model.model_fields.items()
            if not f.is_required()
        }
        changed: set[str] = set()
        for name in self.inputs_model.model_fields:
            new = new_plain.get(name, defaults.get(name))
            if new is None:
                new = defaults.get(name)
            if is_unknown(new):
                continue  # a preview does not know it yet; `up` diffs again with the real value
            if name in self.secret_fields:
                stored = old_plain.get(f"{name}_hash")
                if new is None and f"{name}_hash" in new_plain:
                    # Inputs read back by refresh: the value's hash stands in for it (refreshed_inputs).
                    if new_plain[f"{name}_hash"] != stored:
                        changed.add(name)
                    continue
                if new is None:
                    if stored:
                        changed.add(name)
                elif not secret_matches(str(new), stored):
                    changed.add(name)
                continue
            old = old_plain.get(name, defaults.get(name))
            if normalize(old) != normalize(new):
                changed.add(name)
        return changed

    # --- create (adopt when it exists) ---
    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        inputs = self._validated(props)
        record = self.prepare(inputs, creating=True)
        live = self.find(inputs) if self.find_before_create else None
        journal = CreateJournal()
        journal_key = (self.org_key(), self.stack, self.artifact(inputs))
        # The journal entry of a create of ours outlives the call: whatever fails after it (a later update or
        # output look-up, the process itself, the reply on its way to the engine) leaves the artifact ours.
        entry: JournalEntry | None
        if live is not None:
            live.identity = self.identity(live, inputs)
            entry = journal.pending(*journal_key)
            adopted = not (entry is not None and self._claimed(entry, live))
            if adopted:
                self.before_adopt(inputs, live, interrupted=entry is not None)
            if self.needs_write(inputs, live, adopted=adopted):
                self.update_live(live.id, inputs, self.adoption_record(record) if adopted else record, live)
            artifact_id = live.id
        else:
            adopted = False
            # A create of this artifact that an earlier run began and never finished (a crash): its entry is
            # replaced by this create's, but still decides a DUPLICATE answered below.
            earlier = None if self.find_before_create else journal.pending(*journal_key)
            entry = journal.begin(*journal_key)
            try:
                artifact_id = self.create_live(inputs, record)
                journal.confirm(entry, *journal_key)
            except SalesforceError as err:
                if not err.uncertain_write:
                    journal.end(entry)
                if not err.duplicate:
                    raise
                # The name exists after all: either an earlier attempt of this very call was applied before
                # its reply was lost (then it is ours), or it appeared meanwhile (then we adopt it). Converge.
                live = self.find(inputs)
                if live is None:
                    raise
                live.identity = self.identity(live, inputs)
                ours = err.uncertain_write and self._made_by_this_call(entry, live)
                adopted = not (ours or (earlier is not None and self._claimed(earlier, live)))
                if adopted:
                    self.before_adopt(inputs, live, interrupted=earlier is not None)
                if self.needs_write(inputs, live, adopted=adopted):
                    converged = self.prepare(inputs, creating=False)
                    self.update_live(
                        live.id, inputs, self.adoption_record(converged) if adopted else converged, live
                    )
                artifact_id = live.id
            except Exception:
                journal.end(entry)
                raise
            else:
                live = Live(artifact_id, {}, record)
                live.identity = self.identity(live, inputs)
                # The proof of ownership, written as soon as it is known (before any output look-up).
                journal.made(entry, live.identity, *journal_key)
        outs = self.outputs(artifact_id, inputs, adopted=adopted, olds=None, live=live)
        if adopted:
            journal.end(entry)  # an interrupted create's entry that did not fit: used up
        else:
            # Kept, naming what was made: the engine records this create only once our reply reaches it.
            journal.made(entry, live.identity if live is not None else None, *journal_key)
        return dyn.CreateResult(artifact_id, outs)

    def _claimed(self, entry: JournalEntry, live: Live) -> bool:
        """Whether a create of ours (``entry``, from an earlier run) made ``live``: only by the record Id it
        returned."""
        if CreateJournal.claims(entry, live.identity):
            return True
        identity = live.identity or {}
        log.warning(
            "%s: a create of this stack was interrupted%s; the %s found (Id %s, created %s by %s) is not "
            "provably the one it made: not claimed",
            self.artifact(live.values),
            f" after making {entry.made}" if entry.made else " before Salesforce returned its record Id",
            self.kind,
            identity.get("id"),
            identity.get("created_date"),
            identity.get("created_by_id"),
        )
        return False

    def _made_by_this_call(self, entry: JournalEntry, live: Live) -> bool:
        """Whether this very call's create (its answer lost, a retry met DUPLICATE) made ``live``."""
        if not live.identity or not live.identity.get("created_date"):
            return False
        creator = self.connecting_user_id() if self.records_creator else None
        return CreateJournal.made_by_this_call(entry, live.identity, creator)

    def before_adopt(self, inputs: Mapping[str, Any], live: Live, *, interrupted: bool = False) -> None:
        """Refuse to take over ``live``, which this stack did not create, before anything is written to it:
        for an artifact whose settings the stack writes (``AdoptableInputs``) unless the config opts in
        (``adopt_hint`` names how). An artifact that is only recorded (a permission set assignment) is
        adopted as found."""
        if "adopt_existing" not in self.inputs_model.model_fields or inputs.get("adopt_existing"):
            return
        identity = live.identity or {}
        facts = [f"Id {identity['id']}"] if identity.get("id") else []
        if identity.get("created_date"):
            facts.append(f"created {identity.get('created_date')} by {identity.get('created_by_id')}")
        made = f" ({', '.join(facts)})" if facts else ""
        why = (
            "; a create of it by this stack was interrupted before Salesforce returned its record Id, so it "
            "is not provably that create's (another stack, or a person logged in as the same user, may have "
            "made it)"
            if interrupted
            else ""
        )
        raise InputError(
            f"{self.artifact(inputs)} already exists in this org and was not created by this stack{made}"
            f"{why}; nothing was written to it",
            artifact=self.artifact(inputs),
            hint=self.adopt_hint(inputs),
        )

    def adopt_hint(self, inputs: Mapping[str, Any]) -> str:
        """How the config opts in to taking over an existing artifact of this kind (``before_adopt``)."""
        return self.adopt_opt_in or "delete or rename it in Setup if it is not in use, then run `pulumi up`"

    def adoption_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """Hook: what adopting may write of ``record`` (the fields that make the artifact as the inputs say).
        Default: all of it."""
        return record

    def replaced(self, olds: Mapping[str, Any], live: Live | None) -> bool:
        """True when ``live`` bears our name but is not the artifact this stack recorded (deleted, then made
        again outside this stack). Unknown (no recorded identity, or none readable) counts as ours."""
        recorded = olds.get("identity") or {}
        current = (live.identity if live is not None else None) or {}
        return bool(recorded.get("id") and current.get("id") and not same_id(recorded["id"], current["id"]))

    def _replaced_message(self, olds: Mapping[str, Any], live: Live) -> str:
        recorded, current = olds.get("identity") or {}, live.identity or {}
        return (
            f"{self.artifact(olds)} was replaced outside this stack: the one in the org "
            f"(id {current.get('id')}, "
            f"created {current.get('created_date')} by {current.get('created_by_id')}) is not the one this "
            f"stack created (id {recorded.get('id')})"
        )

    def needs_write(self, inputs: Mapping[str, Any], live: Live, *, adopted: bool = True) -> bool:
        """On adopt: write only when the org differs from the inputs (write-only fields always differ)."""
        if self.secret_fields & {k for k, v in inputs.items() if v is not None}:
            return True
        for name in self.field_map:
            if name in self.secret_fields or name not in inputs:
                continue
            if normalize(live.values.get(name)) != normalize(inputs[name]):
                return True
        return False

    # --- read: live values become outputs AND inputs, so refresh shows drift ---
    def read(self, id_: str, props: dict[str, Any]) -> dyn.ReadResult:
        olds, _ = unwrap({k: v for k, v in props.items() if k != PROVIDER_KEY})
        self.check_org(olds)
        live = self.read_live(id_, olds)
        if live is None:
            return dyn.ReadResult("", {})
        if olds.get("identity"):
            live.identity = self.identity(live, olds, reuse=True)
            if self.replaced(olds, live):
                # Ours is gone; the one there belongs to someone else: drift that drops it from state, so
                # nothing of this stack (update, destroy) ever writes to it.
                log.warning(
                    "%s; dropped from this stack's state, left as it is", self._replaced_message(olds, live)
                )
                return dyn.ReadResult("", {})
        outs = dict(olds)
        # A state from before the org binding records its org at its first refresh (no call of its own).
        outs[ORG_OUTPUT] = self.org_record(olds)
        for name, value in live.values.items():
            if name not in self.secret_fields:
                outs[name] = value
        inputs_now = {n: outs[n] for n in self.input_names() if n in outs and n not in self.secret_fields}
        outs.update(self.computed_outputs(live.id, inputs_now, live, olds))
        if self.observed:
            values = self.observe(live.id, inputs_now)
            outs[OBSERVED_BEFORE] = {n: olds.get(n) for n in self.observed}
            outs.update(values)
        inputs_now = self.refreshed_inputs(outs)
        if self.observed:
            # In the inputs too: the next refresh's diff compares with them (observed outputs, above).
            inputs_now.update({n: outs[n] for n in self.observed})
        if self.secret_fields:
            outs["write_only_fields"] = sorted(self.secret_fields)
            log.info(
                "%s: %s cannot be read back from Salesforce; their drift cannot be detected",
                self.artifact(outs),
                ", ".join(sorted(self.secret_fields)),
            )
        outs = self._wrap_secret_outputs(outs)
        return dyn.ReadResult(live.id, outs, inputs_now)

    def refreshed_inputs(self, outs: Mapping[str, Any]) -> dict[str, Any]:
        """The inputs ``read`` returns: the live values, and for each write-only field its ``<field>_hash``.

        The real engine decides a refresh by calling ``diff(olds=refreshed outputs, news=inputs in state)``
        (pulumi/pulumi pkg/resource/deploy/step.go, RefreshStep.Apply) and stores these inputs for the next
        refresh, so they must diff clean against the outputs: a write-only value cannot be read back, and
        leaving it out would read as "the secret was removed" on every later refresh. Its hash says "the
        value the outputs were made with"; a program run (``up``) brings the real value, compared as usual.
        """
        inputs = {n: outs[n] for n in self.input_names() if n in outs and n not in self.secret_fields}
        for name in sorted(self.secret_fields):
            if outs.get(f"{name}_hash") is not None:
                inputs[f"{name}_hash"] = outs[f"{name}_hash"]
        return inputs

    # --- update: always implemented ---
    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        old_plain, _ = unwrap(olds)
        self.check_org(old_plain)
        inputs = self._validated(news)
        salesforce_fields = set(self.field_map) | self.secret_fields
        live: Live | None = None
        if self.changed_fields(olds, news) & salesforce_fields:
            record = self.prepare(inputs, creating=False)
            current: Live | None = None
            if self.identity_by_name and old_plain.get("identity"):
                current = self.read_live(id_, old_plain)
                if current is not None:
                    current.identity = self.identity(current, old_plain)
                    if self.replaced(old_plain, current):
                        raise SalesforceError(
                            "REPLACED_OUTSIDE_STACK",
                            self._replaced_message(old_plain, current) + "; nothing was written",
                            artifact=self.artifact(old_plain),
                            hint="run `pulumi refresh` (it drops it from this stack's state), "
                            "then `pulumi up`",
                            service="eci-aircall",
                        )
            self.update_live(id_, inputs, record, current)
            live = Live(id_, {}, record)
        return dyn.UpdateResult(
            self.outputs(id_, inputs, adopted=bool(old_plain.get("adopted")), olds=old_plain, live=live)
        )

    # --- delete: adopted artifacts are left alone unless asked; already gone is fine ---
    def delete(self, id_: str, props: dict[str, Any]) -> None:
        olds, _ = unwrap(props)
        self.check_org(olds)
        if olds.get("adopted") and not olds.get("delete_adopted"):
            log.info("%s was adopted, not created by this stack: left in place", self.artifact(olds))
            return
        if self.identity_by_name and olds.get("identity"):
            current = Live(id_, {}, {})
            current.identity = self.identity(current, olds)
            if current.identity is None:
                return  # already gone
            if self.replaced(olds, current):
                log.warning(
                    "%s; not deleted, dropped from this stack's state", self._replaced_message(olds, current)
                )
                return
        try:
            self.delete_live(id_, olds)
        except SalesforceError as err:
            if not err.not_found:
                raise

    # --- outputs ---
    def outputs(
        self,
        artifact_id: str,
        inputs: Mapping[str, Any],
        *,
        adopted: bool,
        olds: Mapping[str, Any] | None,
        live: Live | None,
    ) -> dict[str, Any]:
        outs: dict[str, Any] = {n: inputs.get(n) for n in self.input_names() if n not in self.secret_fields}
        for name in sorted(self.secret_fields):
            value = inputs.get(name)
            stored = (olds or {}).get(f"{name}_hash")
            if value is None:
                outs[f"{name}_hash"] = None
            elif stored and secret_matches(str(value), stored):
                outs[f"{name}_hash"] = stored  # unchanged: keep the same salt so state does not churn
            else:
                outs[f"{name}_hash"] = hash_secret(str(value))
        if self.secret_fields:
            outs["write_only_fields"] = sorted(self.secret_fields)
        outs["adopted"] = adopted
        outs[ORG_OUTPUT] = self.org_record(olds)
        identity = (live.identity if live is not None else None) or (olds or {}).get("identity")
        # Without the unknown parts: a map's null entries do not survive the trip through state unchanged.
        outs["identity"] = {k: v for k, v in identity.items() if v is not None} if identity else None
        outs.update(self.computed_outputs(artifact_id, inputs, live, olds))
        if self.observed:
            keys = {self.name_field, *self.observed_by} - {""}
            if olds is None or any(normalize(olds.get(k)) != normalize(inputs.get(k)) for k in keys):
                outs.update(self.measured(artifact_id, inputs))
            else:
                # What was measured is unchanged: keep the measurement (the inputs carry it; check).
                outs.update({n: olds.get(n) for n in (*self.observed, OBSERVED_BEFORE)})
        return self._wrap_secret_outputs(outs)

    def _wrap_secret_outputs(self, outs: dict[str, Any]) -> dict[str, Any]:
        for name in self.secret_outputs:
            if outs.get(name) is not None and not rpc.is_rpc_secret(outs[name]):
                salesforce.register_secret(outs[name])
                outs[name] = rpc.wrap_rpc_secret(outs[name])
        return outs

    # --- hooks ---
    def prepare(self, inputs: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        """Read-only look-ups and validation, then the record to write. Default: ``to_salesforce``."""
        return self.to_salesforce(inputs, creating=creating)

    def to_salesforce(self, inputs: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        record: dict[str, Any] = {}
        for name, path in self.field_map.items():
            if name in inputs and inputs[name] is not None:
                set_path(record, path, inputs[name])
        return record

    def from_salesforce(self, record: Mapping[str, Any]) -> dict[str, Any]:
        return {
            name: get_path(record, path)
            for name, path in self.field_map.items()
            if name not in self.secret_fields
        }

    def computed_outputs(
        self,
        artifact_id: str,
        inputs: Mapping[str, Any],
        live: Live | None,
        olds: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """Outputs besides the inputs. ``live.raw`` is the record as read, or as just written (create/update);
        ``live`` is None when update wrote nothing; ``olds`` are the previous outputs (None on create)."""
        return {}

    def identity(
        self, live: Live, inputs: Mapping[str, Any], *, reuse: bool = False
    ) -> dict[str, Any] | None:
        """What tells ``live`` from a same-named artifact made after it: the record Id, and its CreatedDate /
        CreatedById when the read returned them. None: not readable (the artifact is gone). ``reuse``: a
        refresh's read, which may answer from what this process already listed (checks before a write and
        claims never do)."""
        return {
            "id": live.id,
            "created_date": live.raw.get("CreatedDate"),
            "created_by_id": live.raw.get("CreatedById"),
        }

    def find(self, inputs: Mapping[str, Any]) -> Live | None:
        raise NotImplementedError

    def read_live(self, id_: str, outputs: Mapping[str, Any]) -> Live | None:
        raise NotImplementedError

    def create_live(self, inputs: Mapping[str, Any], record: dict[str, Any]) -> str:
        raise NotImplementedError

    def update_live(
        self, id_: str, inputs: Mapping[str, Any], record: dict[str, Any], live: Live | None
    ) -> None:
        raise NotImplementedError

    def delete_live(self, id_: str, outputs: Mapping[str, Any]) -> None:
        raise NotImplementedError


#: The guide's Metadata types in the groups a refresh lists them in, one ``listMetadata`` call per group (it
#: takes 3 queries): the identities of all five components for two calls instead of five. A type in no
#: group is listed alone (tests/providers/test_base.py checks that every Metadata artifact is in one).
LISTED_TOGETHER: tuple[tuple[str, ...], ...] = (
    ("ConnectedApp", "AuthProvider", "CustomSite"),
    ("NamedCredential", "ExternalClientApplication"),
)


def listed_identity(
    client: SalesforceClient, type_name: str, full_name: str, *, artifact: str, reuse: bool = False
) -> dict[str, Any] | None:
    """The identity (id, createdDate, createdById) ``listMetadata`` gives the component ``full_name`` of
    ``type_name``, listed with the rest of its LISTED_TOGETHER group; None when there is no such component."""
    along = next((group for group in LISTED_TOGETHER if type_name in group), ())
    for props in client.metadata_list(type_name, artifact=artifact, along=along, reuse=reuse):
        if str(props.get("fullName") or "").lower() == full_name.lower():
            return {
                "id": props.get("id") or None,
                "created_date": _iso(props.get("createdDate")),
                "created_by_id": props.get("createdById") or None,
            }
    return None


class MetadataProvider(ArtifactProvider):
    """A Metadata API component (``kind`` = Metadata type); its id is the fullName (``name_field``)."""

    #: Salesforce fields that must not be sent on update (e.g. ConnectedApp ``oauthConfig.consumerKey``).
    create_only_paths: ClassVar[tuple[str, ...]] = ()
    identity_by_name = True
    #: The Metadata type ``listMetadata`` lists the component under (default: ``kind``).
    list_type: ClassVar[str] = ""

    def identity(
        self, live: Live, inputs: Mapping[str, Any], *, reuse: bool = False
    ) -> dict[str, Any] | None:
        # readMetadata returns neither id nor creation stamp; listMetadata's FileProperties do (Metadata API
        # Developer Guide, "FileProperties": id, createdDate, createdById). A refresh lists each group of
        # LISTED_TOGETHER once for all its components.
        return listed_identity(
            self.client, self.list_type or self.kind, live.id, artifact=f"{self.kind} {live.id}", reuse=reuse
        )

    def full_name(self, inputs: Mapping[str, Any]) -> str:
        return str(inputs[self.name_field])

    def _live(self, record: dict[str, Any] | None) -> Live | None:
        if record is None:
            return None
        return Live(id=str(record.get("fullName")), values=self.from_salesforce(record), raw=record)

    def find(self, inputs: Mapping[str, Any]) -> Live | None:
        name = self.full_name(inputs)
        return self._live(self.client.metadata_read(self.kind, [name], artifact=self.artifact(inputs))[0])

    def read_live(self, id_: str, outputs: Mapping[str, Any]) -> Live | None:
        return self._live(self.client.metadata_read(self.kind, [id_], artifact=f"{self.kind} {id_}")[0])

    def create_live(self, inputs: Mapping[str, Any], record: dict[str, Any]) -> str:
        name = self.full_name(inputs)
        self.client.metadata_create(self.kind, [{**record, "fullName": name}], artifact=self.artifact(inputs))
        return name

    def update_live(
        self, id_: str, inputs: Mapping[str, Any], record: dict[str, Any], live: Live | None
    ) -> None:
        # updateMetadata replaces the whole component: start from the live one so fields we do not manage
        # (set by an admin in Setup) survive. Metadata API Developer Guide, "updateMetadata()".
        if live is None:
            live = self.read_live(id_, inputs)
        base = dict(live.raw) if live is not None else {}
        desired = merge(base, record)
        for path in self.create_only_paths:
            _drop_path(desired, path)
        desired["fullName"] = id_
        self.client.metadata_update(self.kind, [desired], artifact=self.artifact(inputs))

    def delete_live(self, id_: str, outputs: Mapping[str, Any]) -> None:
        self.client.metadata_delete(self.kind, [id_], artifact=f"{self.kind} {id_}")


class SObjectProvider(ArtifactProvider):
    """An sObject record (``kind`` = sObject); its id is the record Id. ``field_map`` values are API field
    names (relationship paths such as ``Profile.Name`` are allowed for reading; ``prepare`` turns them
    into Ids)."""

    #: Input names whose values identify the record uniquely (the adopt look-up).
    lookup_fields: ClassVar[tuple[str, ...]] = ()

    def soql_fields(self) -> list[str]:
        # CreatedDate / CreatedById ride along in the same query: what the create journal needs to claim a
        # record (Object Reference, "System Fields").
        fields = (p for n, p in self.field_map.items() if n not in self.secret_fields)
        return ["Id", *dict.fromkeys(fields), "CreatedDate", "CreatedById"]

    def _live(self, record: dict[str, Any] | None) -> Live | None:
        if record is None:
            return None
        return Live(id=str(record["Id"]), values=self.from_salesforce(_flatten(record)), raw=record)

    def find(self, inputs: Mapping[str, Any]) -> Live | None:
        where = " AND ".join(
            f"{self.field_map[n]} = {salesforce.soql_quote(str(inputs[n]))}" for n in self.lookup_fields
        )
        soql = f"SELECT {', '.join(self.soql_fields())} FROM {self.kind} WHERE {where} LIMIT 1"
        records = self.client.query(soql, artifact=self.artifact(inputs))
        return self._live(records[0] if records else None)

    def read_live(self, id_: str, outputs: Mapping[str, Any]) -> Live | None:
        soql = (
            f"SELECT {', '.join(self.soql_fields())} FROM {self.kind} WHERE Id = {salesforce.soql_quote(id_)}"
        )
        records = self.client.query(soql, artifact=self.artifact(outputs))
        return self._live(records[0] if records else None)

    def create_live(self, inputs: Mapping[str, Any], record: dict[str, Any]) -> str:
        return self.client.create_record(self.kind, record, artifact=self.artifact(inputs))

    def update_live(
        self, id_: str, inputs: Mapping[str, Any], record: dict[str, Any], live: Live | None
    ) -> None:
        self.client.update_record(self.kind, id_, record, artifact=self.artifact(inputs))

    def delete_live(self, id_: str, outputs: Mapping[str, Any]) -> None:
        self.client.delete_record(self.kind, id_, artifact=self.artifact(outputs))


def _iso(value: Any) -> str | None:
    """zeep gives a dateTime as a datetime; state keeps it as ISO 8601 text."""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if value else None


def _flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"Profile": {"Name": "x"}}`` → ``{"Profile.Name": "x"}`` alongside the original keys."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        path = f"{prefix}{key}"
        flat[path] = value
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{path}."))
    return flat


def _drop_path(record: dict[str, Any], path: str) -> None:
    parts = path.split(".")
    current: Any = record
    for part in parts[:-1]:
        current = current.get(part) if isinstance(current, dict) else None
        if current is None:
            return
    if isinstance(current, dict):
        current.pop(parts[-1], None)


# ----------------------------------------------------------------------------------------------------
# The Resource side.
# ----------------------------------------------------------------------------------------------------
class ArtifactResource(dyn.Resource):
    """Base of each module's ``pulumi.dynamic.Resource``. Its keyword arguments are the fields of its
    provider's ``inputs_model`` (the one declaration of an artifact's inputs), each a ``pulumi.Input``: values
    may be Outputs of other resources, so they are not validated here but in the provider's ``check``. An
    input not given takes the model's default; a name the model does not have, or a required input left out,
    is a TypeError as for any keyword argument. Also: output placeholders, secrets marked."""

    provider_class: ClassVar[type[ArtifactProvider]]
    #: Inputs the class sets itself (not keyword arguments), e.g. ``is_active`` kept True.
    fixed_inputs: ClassVar[Mapping[str, Any]] = {}

    adopted: pulumi.Output[bool]

    def __init__(
        self, resource_name: str, opts: pulumi.ResourceOptions | None = None, **inputs: pulumi.Input[Any]
    ) -> None:
        provider = self.provider_class()
        props = {**self.props(inputs), **self.fixed_inputs}
        for secret in provider.secret_fields:
            if props.get(secret) is not None:
                props[secret] = pulumi.Output.secret(props[secret])
        for output in provider.output_names():
            props.setdefault(output, None)
        provider.stack = f"{pulumi.get_project()}/{pulumi.get_stack()}"
        secret_outs = sorted(provider.secret_fields | provider.secret_outputs)
        if secret_outs:
            opts = pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(additional_secret_outputs=secret_outs)
            )
        super().__init__(provider, resource_name, props, opts)

    @classmethod
    def props(cls, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The resource's input properties: ``inputs`` checked by name against the model, defaults filled."""
        model_fields = cls.provider_class.inputs_model.model_fields
        keywords = {name: f for name, f in model_fields.items() if name not in cls.fixed_inputs}
        unknown = sorted(set(inputs) - set(keywords))
        if unknown:
            raise TypeError(f"{cls.__name__}() got unexpected keyword argument(s): {', '.join(unknown)}")
        missing = sorted(name for name, f in keywords.items() if f.is_required() and name not in inputs)
        if missing:
            raise TypeError(f"{cls.__name__}() missing required keyword argument(s): {', '.join(missing)}")
        return {
            name: inputs[name] if name in inputs else f.get_default(call_default_factory=True)
            for name, f in keywords.items()
        }
