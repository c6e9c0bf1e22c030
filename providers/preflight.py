"""Preflight: verifies the org and the Aircall key before anything is written.

Every check is read-only and runs in create/update only; ``diff`` compares inputs, so a no-op ``up`` costs no
call. Each failure names the guide step and what to do. Every other resource waits for Preflight, so its reads
are issued concurrently (see ``run_checks``): its share of the critical path is one round trip (two with a
login), not one per check. The checks and how a client can see each:

* Edition — ``SELECT OrganizationType FROM Organization`` (Object Reference, "Organization"); the guide's
  EDITIONS box: Enterprise, Performance, Unlimited.
* ECI enabled — Metadata ``ConversationalIntelligenceSettings`` (fullName ``ConversationalIntelligence``),
  ``enableCallCoaching`` (Metadata API Developer Guide, "ConversationalIntelligenceSettings").
* Voice Connector package permission sets present — one SOQL on PermissionSet by Name or Label.
* Site domain registered — there is no read-only API that says so before a site exists (the Domain object
  lists custom domains only; Object Reference, "Domain"). A site existing proves it, so any ``Site`` row
  passes; otherwise the site is about to be created, and a check-only deploy of it (below) asks Salesforce.
* Connected-app creation allowed (``oauth_app_kind`` ConnectedApp) — Salesforce publishes no readable setting
  for the Spring '26 block (Help 005228017; the "Allow creation of connected apps" toggle has no field in
  ExternalClientAppSettings, API 63.0). If ``ECI_Connected_App`` already exists nothing needs creating and the
  check passes (editing stays allowed); otherwise it goes into the check-only deploy.
* The check-only deploy — the one way Salesforce answers "would this create succeed?" without saving: Metadata
  API ``deploy`` with ``DeployOptions.checkOnly`` (Metadata API Developer Guide, "deploy()", "DeployOptions")
  of a package holding the components still to be created (the site and/or the connected app, minimal valid
  content), polled with ``checkDeployStatus`` (its ``DeployResult.details.componentFailures``). ONE deploy for
  both, only when one of them is missing; a refusal becomes the create path's own error (guide step "Set Up
  the Salesforce Site" / ``eci-aircall:oauthAppKind``). A failure of another kind, or a validation still
  queued after the bounded poll, is reported in the ``unverified`` output instead of blocking the ``up``.
* Profiles and usernames named in config exist (optional ``profiles`` / ``usernames`` inputs, keyed by the
  config key that holds them, so the error names it) — one SOQL each, only when given.
* Shared ECI artifacts exist when ``shared_eci`` is ``adopt`` or ``skip``.
* On a new stack, the guide's components it is to create do not exist already (the ``Aircall`` named
  credential unless ``adopt_aircall_named_credential``; with ``shared_eci`` create, the shared ones too): one
  that exists was not made by this stack, and taking it over needs the config's opt-in. The component
  checks use ``listMetadata`` (Metadata API Developer Guide, "listMetadata()"): one call lists up to three
  types, so two calls (one per listing group of the Metadata providers) cover every component, with who
  created each and when.
* Aircall credentials — ``GET {aircall_api_url}/ping`` with Basic auth api_id:api_token (Aircall API
  reference, "Ping"); not a Salesforce call.
"""

from __future__ import annotations

import contextvars
import io
import threading
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, cast

import pulumi.dynamic as dyn
from pydantic import Field

from providers import guide
from providers.auth_provider import AuthProviderProvider
from providers.config.keys import (
    AIRCALL_API_ID,
    AIRCALL_API_TOKEN,
    AIRCALL_API_URL,
    ALLOW_PRODUCTION,
    CA_BUNDLE,
    HEALTH_CHECKS,
    PERMISSION_SET_KEYS,
    SHARED_ECI,
    SharedEci,
)
from providers.connected_app import SWITCH_TO_ECA, ConnectedAppProvider
from providers.custom_site import SITE_STEP, CustomSiteInputs, CustomSiteProvider
from providers.external_client_app import ExternalClientAppProvider
from providers.integration_user import ADOPT_KEY, USERNAME_KEY
from providers.kit import (
    COMPUTED,
    ORG_OUTPUT,
    SECRET,
    ArtifactInputs,
    ArtifactResource,
    CreateJournal,
    InputError,
    NonArtifactProvider,
    listed_identity,
    same_id,
    unwrap,
)
from providers.named_credential import NamedCredentialProvider
from salesforce import (
    SalesforceClient,
    SalesforceError,
    UsageError,
    metadata_wsdl_client,
    register_secret,
    soql_quote,
)
from salesforce.errors import map_exception
from salesforce.settings import is_secure_url

if TYPE_CHECKING:
    import requests

T = TypeVar("T")

SUPPORTED_EDITIONS = ("Enterprise", "Performance", "Unlimited")
#: Threads for Preflight's tasks: the most it runs is 16 (a new stack with ``sharedEci`` create, profiles
#: and usernames: 5 SOQL / readMetadata checks, the site and connected-app checks, the check-only deploy
#: (it waits for those two, submitted before it), 5 look-ups of components the stack is to create, the
#: anonymous-Apex permission read, the Aircall ping, the WSDL warm-up), so none queues. The component
#: look-ups share two ``listMetadata`` calls (one per listing group; the others wait for its
#: answer), so at most 10 Salesforce calls are in flight: within requests' default pool of 10 connections
#: per host, so every socket is kept for reuse.
MAX_CONCURRENT_CALLS = 16
MD_NS = "http://soap.sforce.com/2006/04/metadata"
#: Per Metadata type, how the config opts in to taking over an existing component (each provider's own hint).
ADOPTION_HINTS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    provider.kind: provider().adopt_hint
    for provider in (
        NamedCredentialProvider,
        ConnectedAppProvider,
        ExternalClientAppProvider,
        AuthProviderProvider,
        CustomSiteProvider,
    )
}
ECI_SETTINGS = "ConversationalIntelligence"
# (Metadata type, fullName, guide step) of what a shared ECI setup consists of.
SHARED_ARTIFACTS: tuple[tuple[str, str, str], ...] = (
    ("AuthProvider", guide.AUTH_PROVIDER_NAME, "Add ECI as an Authorized Provider"),
    ("CustomSite", guide.SITE_NAME, "Set Up the Salesforce Site"),
    ("NamedCredential", guide.ECI_NAMED_CREDENTIAL, "Add ECI Named Credentials"),
)


def _validation_site() -> dict[str, str]:
    """Content for the check-only deploy: the site exactly as CustomSite creates it with the guide's values
    (the WSDL's required elements included). Never saved."""
    record = CustomSiteProvider().to_salesforce(CustomSiteInputs().model_dump(), creating=True)
    record.pop("fullName")  # the file name carries it
    return {
        key: str(record[key]).lower() if isinstance(record[key], bool) else str(record[key])
        for key in sorted(record)
    }


VALIDATION_SITE = _validation_site()
# The connected app's required elements; never saved, so the placeholder contact email reaches no one.
VALIDATION_CONNECTED_APP: dict[str, str] = {
    "contactEmail": "preflight-validation@example.com",
    "label": guide.CONNECTED_APP_LABEL,
}


class PreflightFailed(InputError):
    """A prerequisite the guide assumes is missing; nothing has been written."""


class PreflightInputs(ArtifactInputs):
    oauth_app_kind: Literal["ConnectedApp", "ExternalClientApp"] = "ConnectedApp"
    shared_eci: SharedEci = cast(SharedEci, SHARED_ECI.default)
    aircall_api_url: str = Field(default=cast(str, AIRCALL_API_URL.default), pattern=r"^https?://\S+$")
    aircall_api_id: str = Field(min_length=1)
    aircall_api_token: Annotated[str, SECRET] = Field(min_length=1)
    permission_sets: list[str] = Field(default_factory=lambda: [str(k.default) for k in PERMISSION_SET_KEYS])
    #: config key → profile names it holds (e.g. ``eci-aircall:connectedAppProfiles``); checked to exist.
    profiles: dict[str, list[str]] = Field(default_factory=dict)
    #: config key → a username that must already exist in the org (e.g. ``eci-aircall:siteAdmin``).
    usernames: dict[str, str] = Field(default_factory=dict)
    #: The integration user's username: refused when a user of that name exists that this stack did not
    #: create, unless ``adopt_existing_user`` (config ``integrationUser.adoptExisting``).
    integration_username: str | None = None
    adopt_existing_user: bool = False
    #: Config ``adoptAircallNamedCredential``: an existing ``Aircall`` named credential may be taken over.
    adopt_aircall_named_credential: bool = False
    #: Config ``allowProduction``: the org this stack binds itself to may be a production org.
    allow_production: bool = False
    my_domain_url: Annotated[str | None, COMPUTED] = None
    edition: Annotated[str | None, COMPUTED] = None
    unverified: Annotated[list[str] | None, COMPUTED] = None
    anonymous_apex: Annotated[str | None, COMPUTED] = None


class PreflightProvider(NonArtifactProvider):
    kind = "Preflight"
    inputs_model = PreflightInputs

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        if not olds:
            # No previous inputs: create follows in a moment, and its ECI-settings read needs the Metadata
            # WSDL parsed (~0.2 s of CPU, once per process, longer than a REST round trip). Starting the parse
            # here, between registration and create, takes it off the critical path; a no-op `up` (olds
            # present) never pays for it.
            threading.Thread(target=metadata_wsdl_client, name="metadata-wsdl-warm-up", daemon=True).start()
        return super().check(olds, news)

    # create/update run the checks; read and delete touch nothing (NonArtifactProvider).
    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        inputs = self._validated(props)
        found = self.run_checks(inputs, new_user=True, new_stack=True, binding=True)
        outs = self.common_outputs(inputs, adopted=False, olds=None)
        outs.update(found)
        return dyn.CreateResult(f"preflight-{uuid.uuid4().hex[:12]}", outs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        old_plain = unwrap(olds)[0]
        self.check_org(old_plain)
        inputs = self._validated(news)
        # The integration user already in this stack's state is its own; only a different username (or an
        # opt-in withdrawn) is looked at again.
        new_user = str(old_plain.get("integration_username") or "").lower() != str(
            inputs.get("integration_username") or ""
        ).lower() or (bool(old_plain.get("adopt_existing_user")) and not inputs.get("adopt_existing_user"))
        found = self.run_checks(inputs, new_user=new_user, binding=not old_plain.get(ORG_OUTPUT))
        outs = self.common_outputs(inputs, adopted=False, olds=olds)
        outs.update(found)
        return dyn.UpdateResult(outs)

    def artifact(self, inputs: Mapping[str, Any]) -> str:
        return "Preflight"

    # --- the checks ---
    def run_checks(
        self,
        inputs: Mapping[str, Any],
        *,
        new_user: bool = True,
        new_stack: bool = False,
        binding: bool = False,
    ) -> dict[str, Any]:
        """All checks at once, results taken in the guide's order. ``new_stack``: this stack has created
        nothing yet (Preflight's create), so the guide's components it is to create must not exist already.
        ``binding``: the stack is about to record the org it is bound to, which may be production only when
        the config opts in (``allow_production``).

        The reads are independent, and everything else in the stack waits for Preflight, so they are issued
        concurrently (one thread each, all through the client's chokepoint): the preflight costs about the
        slowest read instead of the sum of them. Results are taken in the guide's order, so the failure
        reported is the same one, with the same message, whatever finished first.
        """
        mode = str(inputs["shared_eci"])
        app_kind = str(inputs["oauth_app_kind"])
        shared = self._shared_wanted(app_kind) if mode != "create" else []
        with ThreadPoolExecutor(max_workers=MAX_CONCURRENT_CALLS, thread_name_prefix="preflight") as pool:

            def submit(fn: Callable[..., T], *args: Any) -> Future[T]:
                # Each task runs in a copy of the caller's context, so context-scoped state (logging
                # context, a tracer's current span) follows the call onto the worker thread.
                return pool.submit(contextvars.copy_context().run, fn, *args)

            # Parse the Metadata WSDL while the first REST reads (and a login) are in flight, instead of on
            # the ECI-settings read's path (~0.2 s of CPU, once per process). Its failure, if any, is the
            # readMetadata's to report.
            submit(self.client.warm_metadata)
            edition = submit(self._check_edition)
            eci = submit(self._check_eci_enabled)
            permission_sets = submit(self._check_permission_sets, list(inputs["permission_sets"]))
            profiles = submit(self._check_profiles, dict(inputs.get("profiles") or {}))
            integration = str(inputs.get("integration_username") or "") if new_user else ""
            usernames = submit(
                self._check_usernames,
                dict(inputs.get("usernames") or {}),
                integration,
                bool(inputs.get("adopt_existing_user")),
            )
            site = submit(self._check_site_domain) if mode == "create" else None
            app = (
                submit(self._check_connected_app_creation)
                if mode == "create" and app_kind == "ConnectedApp"
                else None
            )
            validation = submit(self._validate_creation, site, app) if site or app else None
            taken = self._to_create(inputs, mode, app_kind) if new_stack else []
            taken_reads = [submit(self._list_identity, type_name, name) for type_name, name in taken]
            shared_reads = [submit(self._list_identity, type_name, name) for type_name, name, _ in shared]
            aircall = submit(self._check_aircall, inputs)
            anonymous_apex = submit(self._check_anonymous_apex)

            found_edition = edition.result()
            if binding:
                self._check_production(bool(inputs.get("allow_production")))
            for step in (eci, permission_sets, profiles, usernames):
                step.result()
            self._check_not_taken(taken, [read.result() for read in taken_reads])
            if site is not None:
                site.result()
            if app is not None:
                app.result()
            unverified: list[str] = validation.result() if validation is not None else []
            if mode != "create":
                self._check_shared_artifacts(mode, shared, [read.result() for read in shared_reads])
            aircall.result()
            may_run_apex = anonymous_apex.result()
        return {
            "my_domain_url": self.client.instance_url,
            "edition": found_edition,
            "unverified": unverified,
            "anonymous_apex": may_run_apex,
        }

    def _check_anonymous_apex(self) -> str:
        """Whether the connecting user may run the health probes (anonymous Apex with a named-credential
        callout): ``allowed`` or what is missing. Apex Developer Guide, "Anonymous Blocks": executing
        anonymous Apex needs "API Enabled" and "Author Apex", and a callout through a named credential
        "Customize Application". The running user's permissions: Object Reference, "UserPermissionAccess"."""
        rows = self.client.query(
            "SELECT PermissionsApiEnabled, PermissionsAuthorApex, PermissionsCustomizeApplication "
            "FROM UserPermissionAccess",
            artifact="Preflight anonymous Apex",
        )
        row = rows[0] if rows else {}
        missing = [
            label
            for field, label in (
                ("PermissionsAuthorApex", "Author Apex"),
                ("PermissionsApiEnabled", "API Enabled"),
                ("PermissionsCustomizeApplication", "Customize Application"),
            )
            if not row.get(field)
        ]
        if not missing:
            return "allowed"
        return (
            f"not permitted: the connecting user lacks {', '.join(missing)}; the health probes need it "
            f"(or set {HEALTH_CHECKS.full_name} false)"
        )

    def _fail(self, message: str, hint: str) -> PreflightFailed:
        return PreflightFailed(message, artifact="Preflight", hint=hint)

    def _check_edition(self) -> str:
        # The same query names the org the session is in (its Id) and whether it is a sandbox
        # (Object Reference, "Organization": IsSandbox): what the stack binds itself to, at no extra call.
        rows = self.client.query(
            "SELECT Id, OrganizationType, IsSandbox FROM Organization", artifact="Preflight edition"
        )
        if rows:
            self.client.note_org(str(rows[0].get("Id") or ""), sandbox=bool(rows[0].get("IsSandbox")))
        edition = str(rows[0].get("OrganizationType") or "") if rows else ""
        short = edition.removesuffix(" Edition").strip()
        if short not in SUPPORTED_EDITIONS:
            raise self._fail(
                f"this org is {edition or 'of an unknown edition'}; Einstein Conversation Insights is "
                "available in Enterprise, Performance and Unlimited Editions",
                "guide: Configure Aircall with ECI, EDITIONS — use an org of a supported edition",
            )
        return short

    def _check_production(self, allowed: bool) -> None:
        """A production org (IsSandbox false) is bound to a stack only with the config's opt-in."""
        if allowed or self.client.org_sandbox() is not False:
            return
        raise self._fail(
            f"this stack's login reaches org {self.client.org_id()} at {self.client.instance_url}, a "
            "production org (not a sandbox); a stack binds itself to the org it first touches, and to a "
            "production org only when its config says so",
            "if this stack is meant for production, run "
            f"`pulumi config set {ALLOW_PRODUCTION.full_name} true`; otherwise point its login at the "
            "sandbox",
        )

    def _check_eci_enabled(self) -> None:
        record = self.client.metadata_read(
            "ConversationalIntelligenceSettings", [ECI_SETTINGS], artifact="Preflight ECI settings"
        )[0]
        if not record or not record.get("enableCallCoaching"):
            raise self._fail(
                "Einstein Conversation Insights is not enabled in this org",
                "guide: Configure Aircall with ECI — turn the feature on in Setup → Einstein Conversation "
                "Insights (needs Customize Application), then run `pulumi up` again",
            )

    def _check_permission_sets(self, wanted: list[str]) -> None:
        if not wanted:
            return
        quoted = ", ".join(soql_quote(name) for name in wanted)
        soql = f"SELECT Id, Name, Label FROM PermissionSet WHERE Name IN ({quoted}) OR Label IN ({quoted})"
        rows = self.client.query(soql, artifact="Preflight permission sets")
        present = {str(r.get(k) or "").lower() for r in rows for k in ("Name", "Label")}
        missing = [name for name in wanted if name.lower() not in present]
        if missing:
            raise self._fail(
                f"permission set(s) {', '.join(missing)} not found in this org",
                "guide: Configure Aircall with ECI — install and launch the Voice Connector app (its package "
                "brings these permission sets), or correct the names in "
                f"{PERMISSION_SET_KEYS[0].top_full_name}",
            )

    def _check_profiles(self, by_key: dict[str, list[str]]) -> None:
        wanted = sorted({name for names in by_key.values() for name in names})
        if not wanted:
            return
        quoted = ", ".join(soql_quote(name) for name in wanted)
        rows = self.client.query(
            f"SELECT Id, Name FROM Profile WHERE Name IN ({quoted})", artifact="Preflight"
        )
        present = {str(r.get("Name") or "").lower() for r in rows}
        problems = [
            f"{key}: {', '.join(repr(n) for n in names if n.lower() not in present)}"
            for key, names in sorted(by_key.items())
            if any(n.lower() not in present for n in names)
        ]
        if problems:
            raise self._fail(
                "profile(s) not found in this org — " + "; ".join(problems),
                "set those keys to existing profile names (the guide uses System Administrator for the "
                "integration user and recommends Standard User + System Administrator for the connected app)",
            )

    def _check_usernames(self, by_key: dict[str, str], integration: str = "", adopt: bool = False) -> None:
        """Named users exist, and the integration user's name is not an existing user's (one SOQL)."""
        names = set(by_key.values()) | ({integration} if integration else set())
        if not names:
            return
        quoted = ", ".join(soql_quote(name) for name in sorted(names))
        rows = self.client.query(
            f"SELECT Id, Username, CreatedDate, CreatedById FROM User WHERE Username IN ({quoted})",
            artifact="Preflight",
        )
        present = {str(r.get("Username") or "").lower() for r in rows}
        existing = [r for r in rows if str(r.get("Username") or "").lower() == integration.lower()]
        if integration and existing:
            self._check_existing_user(existing[0], adopt)
        missing = [f"{key} = {name!r}" for key, name in sorted(by_key.items()) if name.lower() not in present]
        if missing:
            raise self._fail(
                "no such user in this org: " + "; ".join(missing),
                "guide: Set Up the Salesforce Site (Site Contact / Default Record Owner) — use the username "
                "of an existing user, or leave the key unset to use the integration user",
            )

    def _check_existing_user(self, row: Mapping[str, Any], adopt: bool) -> None:
        """A user named like the integration user exists. It is this stack's own only when a create of it by
        this stack was interrupted (the create journal claims it); otherwise taking it over would rewrite a
        person's account, so it is refused unless the config opts in — and the connecting user never."""
        username = str(row.get("Username"))
        identity = {"id": row.get("Id"), "created_date": row.get("CreatedDate"),
                    "created_by_id": row.get("CreatedById")}  # fmt: skip
        if self._made_by_this_stack(f"User {username}", identity):
            return
        if same_id(row.get("Id"), self.connecting_user_id()):
            raise self._fail(
                f"{USERNAME_KEY} = {username!r} is the user this stack connects as; the integration user "
                "must be a user of its own",
                f"guide: Log In as the Integration User — choose a new username: `pulumi config set --path "
                f"{USERNAME_KEY} <new-username>`",
            )
        if not adopt:
            raise self._fail(
                f"{USERNAME_KEY} = {username!r} names a user that already exists in this org and was not "
                "created by this stack; nothing was written",
                f"choose a new username (`pulumi config set --path {USERNAME_KEY} <new-username>`), or, to "
                f"use that user as it is, `pulumi config set --path {ADOPT_KEY} true` (its profile, email "
                "and name are never changed, and destroy leaves it as it was)",
            )

    def _to_create(self, inputs: Mapping[str, Any], mode: str, app_kind: str) -> list[tuple[str, str]]:
        """(Metadata type, fullName) of the guide's components a new stack creates unless the config opts
        in to taking over existing ones, in the guide's order."""
        wanted = []
        if not inputs.get("adopt_aircall_named_credential"):
            wanted.append(("NamedCredential", guide.AIRCALL_NAMED_CREDENTIAL))
        if mode == "create":
            wanted += [(type_name, name) for type_name, name, _ in self._shared_wanted(app_kind)]
        return wanted

    def _list_identity(self, type_name: str, full_name: str) -> dict[str, Any] | None:
        # listMetadata by listing group, the listing kept and shared: two calls for all five.
        return listed_identity(
            self.client, type_name, full_name, artifact="Preflight existing components", reuse=True
        )

    def _check_not_taken(
        self, wanted: list[tuple[str, str]], identities: list[dict[str, Any] | None]
    ) -> None:
        """A component this new stack is to create that already exists is someone else's (another voice
        connector's, or set up by hand): refused before anything is written, naming the opt-in. Only a
        create of this stack that was cut short (its create journal entry claims it) makes it ours."""
        taken: list[str] = []
        #: each fix once, with the components it applies to (the shared ones all take `sharedEci`)
        fixes: dict[str, list[str]] = {}
        for (type_name, name), identity in zip(wanted, identities, strict=True):
            if identity is None:
                continue
            if self._made_by_this_stack(f"{type_name} {name}", identity):
                continue
            made = f"created {identity.get('created_date')} by {identity.get('created_by_id')}"
            taken.append(f"{type_name} {name} ({made})")
            fixes.setdefault(ADOPTION_HINTS[type_name]({"full_name": name}), []).append(f"{type_name} {name}")
        if taken:
            raise self._fail(
                "already in this org and not created by this stack, so not this stack's to change: "
                + "; ".join(taken)
                + "; nothing was written",
                "; ".join(f"{', '.join(names)}: {fix}" for fix, names in fixes.items()),
            )

    def _made_by_this_stack(self, artifact: str, identity: Mapping[str, Any]) -> bool:
        """Whether a create of ``artifact`` by this stack was cut short after making what was found (its
        create journal entry names that record Id)."""
        entry = CreateJournal().pending(self.org_key(), self.stack, artifact)
        return entry is not None and CreateJournal.claims(entry, identity)

    def _check_site_domain(self) -> bool:
        """True when the site is still to be created (no site exists, so the domain is not proven)."""
        rows = self.client.query("SELECT Id, Name FROM Site LIMIT 1", artifact="Preflight site domain")
        return not rows

    def _check_connected_app_creation(self) -> bool:
        """True when ``ECI_Connected_App`` is still to be created (editing an existing one stays allowed)."""
        return self._list_identity("ConnectedApp", guide.CONNECTED_APP_NAME) is None

    def _validate_creation(self, site: Future[bool] | None, app: Future[bool] | None) -> list[str]:
        """One check-only deploy of what is still to be created; returns what stays unverified.

        Raises PreflightFailed with the create path's message when Salesforce refuses a component for a
        reason the guide has a step for. Waits for the two reads it depends on (submitted before it).
        """
        components: list[tuple[str, str, str, dict[str, str]]] = []
        if site is not None and site.result():
            components.append(
                ("CustomSite", guide.SITE_NAME, f"sites/{guide.SITE_NAME}.site", VALIDATION_SITE)
            )
        if app is not None and app.result():
            path = f"connectedApps/{guide.CONNECTED_APP_NAME}.connectedApp"
            components.append(("ConnectedApp", guide.CONNECTED_APP_NAME, path, VALIDATION_CONNECTED_APP))
        if not components:
            return []
        result = self.client.metadata_validate_deploy(
            _package_zip(components), artifact="Preflight validation deploy"
        )
        if result is None:
            return [
                f"{type_name} {name}: the check-only deploy was still queued in Salesforce after the poll; "
                "the create will say whether it is refused"
                for type_name, name, _, _ in components
            ]
        details = result.get("details") or {}
        failures = {
            str(f.get("componentType") or ""): str(f.get("problem") or "")
            for f in details.get("componentFailures") or []
        }
        unverified: list[str] = []
        # Guide order: the site (Set Up the Salesforce Site) before the connected app.
        for type_name, name, _, _ in components:
            problem = failures.get(type_name)
            if problem is None:
                continue
            lowered = problem.lower()
            if type_name == "CustomSite" and "register" in lowered and "domain" in lowered:
                raise PreflightFailed(
                    f"the {guide.SITE_NAME} site cannot be created (a check-only deploy was refused; "
                    f"Salesforce said: {problem})",
                    artifact=f"CustomSite {guide.SITE_NAME}",
                    hint=SITE_STEP,
                )
            if (
                type_name == "ConnectedApp"
                and "connected app" in lowered
                and ("creat" in lowered or "disabled" in lowered)
            ):
                raise PreflightFailed(
                    "this org does not allow creating new connected apps (Salesforce blocks it since Spring "
                    f"'26 unless Support re-enables it; a check-only deploy was refused: {problem})",
                    artifact=f"ConnectedApp {guide.CONNECTED_APP_NAME}",
                    hint=f"create an external client app instead: `{SWITCH_TO_ECA}`, then run `pulumi up` "
                    "again (or ask Salesforce Support to allow connected app creation in this org)",
                )
            unverified.append(
                f"{type_name} {name}: a check-only deploy of minimal content was refused ({problem}); the "
                "create will say whether this applies to the real component"
            )
        return unverified

    def _shared_wanted(self, app_kind: str) -> list[tuple[str, str, str]]:
        wanted = list(SHARED_ARTIFACTS)
        app_type = "ConnectedApp" if app_kind == "ConnectedApp" else "ExternalClientApplication"
        wanted.insert(0, (app_type, guide.CONNECTED_APP_NAME, "Set Up the Connected App"))
        return wanted

    def _check_shared_artifacts(
        self, mode: str, wanted: list[tuple[str, str, str]], records: list[dict[str, Any] | None]
    ) -> None:
        missing = [
            f"{type_name} {full_name} (guide: {step})"
            for (type_name, full_name, step), record in zip(wanted, records, strict=True)
            if not record
        ]
        if missing:
            raise self._fail(
                f"{SHARED_ECI.full_name} is {mode!r} but these shared ECI artifacts do not exist: "
                + "; ".join(missing),
                "create them by following those guide steps (or another voice connector's setup), or run "
                f"`pulumi config set {SHARED_ECI.full_name} create` to let this stack create them",
            )

    def _check_aircall(self, inputs: Mapping[str, Any]) -> None:
        url = f"{str(inputs['aircall_api_url']).rstrip('/')}/ping"
        try:
            response = aircall_ping(
                self.client, url, str(inputs["aircall_api_id"]), str(inputs["aircall_api_token"])
            )
        except UsageError:
            raise
        except SalesforceError as err:
            if err.error_code == "CERTIFICATE_ERROR":
                raise self._fail(
                    f"the Aircall API at {url} presented a certificate that is not trusted (not retried)",
                    f"check {AIRCALL_API_URL.full_name}; behind a TLS-intercepting proxy add its CA with "
                    f"{CA_BUNDLE.full_name} (it adds to the default roots)",
                ) from None
            # Aircall, or the network to it, still failing after the client's retries: a failure, not a
            # setting of this stack (a wrong URL answers 404, below).
            raise SalesforceError(
                err.error_code,
                f"cannot reach the Aircall API at {url}",
                artifact="Preflight",
                status=err.status,
                service="Aircall",
                hint=f"check {AIRCALL_API_URL.full_name} and the network, then run `pulumi up` again",
            ) from None
        if response.status_code in (401, 403):
            raise self._fail(
                f"Aircall refused the API ID and token (HTTP {response.status_code})",
                f"guide: Generate the API Key for Aircall — set {AIRCALL_API_ID.full_name} and "
                f"`{AIRCALL_API_TOKEN.set_command()}` to a valid key pair",
            )
        if response.status_code != 200:
            raise self._fail(
                f"Aircall's ping answered HTTP {response.status_code}",
                f"check {AIRCALL_API_URL.full_name} (default {AIRCALL_API_URL.default})",
            )


def aircall_ping(client: SalesforceClient, url: str, api_id: str, api_token: str) -> requests.Response:
    """``GET {aircallApiUrl}/ping`` with Basic auth api_id:api_token (Aircall API reference, "Ping"). Not a
    Salesforce call: it only borrows the client's HTTP session (its CA bundle) and retry policy, so a
    gateway error or a dropped connection is retried like any call and reported as a SalesforceError with
    service Aircall. The token is registered for scrubbing before it is sent."""
    import requests  # where a call is made: the program imports this module and makes none

    register_secret(api_token)
    artifact = "Preflight Aircall"
    if not is_secure_url(url):
        # Basic auth carries the token itself: never in clear over a network.
        raise UsageError(
            "INSECURE_URL", "the Aircall API URL is not https://; not called", artifact=artifact,
            hint=f"set {AIRCALL_API_URL.full_name} to https://api.aircall.io/v1",
        )  # fmt: skip

    def attempt() -> requests.Response:
        try:
            response = client.http.get(url, auth=(api_id, api_token), timeout=30)
        except requests.RequestException as exc:
            raise map_exception(exc, artifact, service="Aircall") from None
        if response.status_code in (502, 503, 504):
            raise SalesforceError(
                f"HTTP_{response.status_code}",
                "service unavailable",
                artifact=artifact,
                status=response.status_code,
                service="Aircall",
            )
        return response

    return client.retrying(artifact, "Aircall GET", attempt)


def _package_zip(components: list[tuple[str, str, str, dict[str, str]]]) -> bytes:
    """A singlePackage deploy zip: package.xml naming each (type, fullName), and each component's file, whose
    root element is the type name in the metadata namespace (Metadata API guide, "Deploying and Retrieving
    Metadata": package.xml ``types/members``/``types/name``)."""
    package = ET.Element("Package", xmlns=MD_NS)
    for type_name, name, _, _ in components:
        types = ET.SubElement(package, "types")
        ET.SubElement(types, "members").text = name
        ET.SubElement(types, "name").text = type_name
    ET.SubElement(package, "version").text = "63.0"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("package.xml", ET.tostring(package, encoding="utf-8", xml_declaration=True))
        for type_name, _, path, fields in components:
            root = ET.Element(type_name, xmlns=MD_NS)
            for key, value in fields.items():
                ET.SubElement(root, key).text = value
            archive.writestr(path, ET.tostring(root, encoding="utf-8", xml_declaration=True))
    return buffer.getvalue()


class Preflight(ArtifactResource, module="eci-aircall", name="Preflight"):
    """Checks the guide's prerequisites; everything else depends on it, so a failure means 0 writes."""

    provider_class = PreflightProvider
