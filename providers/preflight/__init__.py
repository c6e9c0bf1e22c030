"""Preflight: checks the org and the Aircall key before anything is written, listing every blocker at once.

Each check is a small unit in this package (``runner.Check``: a name, a read and a verdict with its fix), one
module per concern, run in the guide's order:

* ``org`` — the edition (the guide's EDITIONS box) and, when the stack binds itself to the org, production.
* ``eci`` — Einstein Conversation Insights enabled.
* ``package`` — the Voice Connector package's permission sets present.
* ``names`` — profiles and usernames named in config exist; the integration user's username is not someone
  else's account.
* ``components`` — on a new stack, the guide's components it is to create are not someone else's; with
  ``sharedEci`` adopt or skip, the shared ones exist. Says who created each existing one, when, and what `up`
  will do with it.
* ``validation`` — site domain registered and connected-app creation allowed: a check-only deploy.
* ``aircall`` — the Aircall API ID and token work.
* ``apex`` — whether the connecting user may run the health probes (an output, not a blocker).

When they run. A dynamic provider's ``check`` runs in every preview and may call Salesforce (pulumi/pulumi
pkg/resource/deploy/step_generator.go: Check is called for every registered resource, in previews too), so
``check`` runs them all on a new stack, or when Preflight's inputs changed, and reports each blocker as a
check failure: ``pulumi preview`` fails listing all of them, each with its fix, having written nothing.
``check`` first compares the old inputs with the new ones, so a no-op preview or `up` of an unchanged stack
makes no call. In a preview, an input that is another resource's output is unknown: a check that reads it is
skipped (and named in a notice), the others run.

``up`` runs ``check`` too, just before ``create``/``update``, in the same provider process and on the same
provider object (see ``PreflightProvider.verdicts``), so ``create``/``update`` trust that run: they take its
verdict (kept in memory, for the very same inputs, for ``VERDICT_SECONDS``) and make no call of their own.
The checks thus run right before the first write, and the preview that `up` shows first ran them too: one
round of reads on `up`'s critical path, as before. Without such a verdict (a caller that did not run
``check``, or a diff ``check`` did not see), ``create``/``update`` run the checks themselves and raise every
blocker at once.

Every other resource waits for Preflight, so a failure means 0 writes.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Annotated, Any, Literal, cast

import pulumi.dynamic as dyn
from pydantic import Field

from providers.config.keys import AIRCALL_API_URL, PERMISSION_SET_KEYS, SHARED_ECI, SharedEci
from providers.kit import (
    COMPUTED,
    ORG_OUTPUT,
    PROVIDER_KEY,
    SECRET,
    ArtifactInputs,
    ArtifactResource,
    NonArtifactProvider,
    is_unknown,
    normalize,
    secret_matches,
    unwrap,
)
from providers.preflight.aircall import AIRCALL_KEY, aircall_ping
from providers.preflight.apex import ANONYMOUS_APEX
from providers.preflight.components import ADOPTION_HINTS, NOT_TAKEN, SHARED_ARTIFACTS, SHARED_EXIST
from providers.preflight.eci import ECI_ENABLED, ECI_SETTINGS
from providers.preflight.names import PROFILES, USERS
from providers.preflight.org import EDITION, PRODUCTION, SUPPORTED_EDITIONS
from providers.preflight.package import PERMISSION_SETS
from providers.preflight.runner import Blocker, Check, Outcome, PreflightFailed, Run, run_checks
from providers.preflight.validation import (
    CREATION,
    VALIDATION_CONNECTED_APP,
    VALIDATION_SITE,
    package_zip,
)
from salesforce import SalesforceError, scrub

__all__ = [
    "ADOPTION_HINTS",
    "CHECKS",
    "ECI_SETTINGS",
    "SHARED_ARTIFACTS",
    "SUPPORTED_EDITIONS",
    "VALIDATION_CONNECTED_APP",
    "VALIDATION_SITE",
    "Blocker",
    "Preflight",
    "PreflightFailed",
    "PreflightInputs",
    "PreflightProvider",
    "aircall_ping",
    "package_zip",
]

#: Every check, in the guide's order (the order blockers are listed in).
CHECKS: list[Check[Any]] = [
    EDITION,
    PRODUCTION,
    ECI_ENABLED,
    PERMISSION_SETS,
    PROFILES,
    USERS,
    NOT_TAKEN,
    CREATION,
    SHARED_EXIST,
    AIRCALL_KEY,
    ANONYMOUS_APEX,
]
#: How long ``check``'s verdict stands for the ``create``/``update`` of the same inputs. The engine calls
#: them right after ``check`` (the same step); this only bounds how stale a verdict can ever be.
VERDICT_SECONDS = 120.0
#: Outputs when no check set them (a run where the check that sets one did not apply).
DEFAULT_OUTPUTS: dict[str, Any] = {"unverified": []}


def blocking_error(blockers: list[Blocker]) -> SalesforceError:
    """The one error a create raises for ``blockers``: a blocker alone as its own error (a failure keeps its
    type); several as a usage error listing them all when one of them is the user's to resolve (the fix
    comes first), else as the failure of the first service that failed, listing them all."""
    errors = [blocker.error() for blocker in blockers]
    if len(errors) == 1:
        return errors[0]
    listed = "\n".join(f"  {n}. {blocker.reason}" for n, blocker in enumerate(blockers, 1))
    if any(error.kind == "usage" for error in errors):
        return PreflightFailed(
            f"{len(errors)} prerequisites are not met; nothing was written:\n{listed}", artifact="Preflight"
        )
    first = errors[0]
    return SalesforceError(
        first.error_code,
        f"{len(errors)} checks could not be made; nothing was written:\n{listed}",
        artifact="Preflight",
        status=first.status,
        service=first.service,
    )


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


class _Verdicts:
    """``check``'s verdicts, kept by the provider object for the ``create``/``update`` that follows it. Keyed
    by a digest of the inputs (the token included: a rotated one is other inputs), never written out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[float, dict[str, Any]]] = {}

    @staticmethod
    def key(stack: str, run: Run) -> str:
        facts = [stack, dict(run.inputs), run.new_stack, run.new_user, run.binding]
        return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()

    def keep(self, key: str, outputs: dict[str, Any]) -> None:
        now = time.monotonic()
        with self._lock:
            self._kept = {k: v for k, v in self._kept.items() if now - v[0] < VERDICT_SECONDS}
            self._kept[key] = (now, dict(outputs))

    def take(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            made, outputs = self._kept.pop(key, (0.0, None))
        if outputs is None or time.monotonic() - made >= VERDICT_SECONDS:
            return None
        return outputs


_verdicts_lock = threading.Lock()


class PreflightProvider(NonArtifactProvider):
    kind = "Preflight"
    inputs_model = PreflightInputs
    _verdicts: _Verdicts | None = None

    @property
    def verdicts(self) -> _Verdicts:
        """This provider object's kept verdicts. The host serves ``check`` and the ``create`` after it with
        one object: it unpickles a provider once per pickled value and keeps it (pulumi/dynamic/__main__.py,
        ``get_provider``'s ``_PROVIDER_CACHE``), and ``create`` gets the inputs ``check`` returned, the same
        pickle among them. Never pickled (``__getstate__`` leaves out private attributes)."""
        with _verdicts_lock:
            verdicts = self._verdicts
            if verdicts is None:
                verdicts = self._verdicts = _Verdicts()
            return verdicts

    # --- check: the checks, in previews too ---
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> dyn.CheckResult:
        result = super().check(olds, news)
        if result.failures:
            return result  # malformed inputs: named by property, no call made
        inputs, unknown = self._with_defaults(result.inputs)
        if olds and not self._changed(olds, inputs):
            return result  # the inputs `up` last checked: nothing to check again, no call
        old_plain = unwrap(olds)[0]
        new_stack = not olds
        run = Run(
            self,
            inputs,
            new_stack=new_stack,
            new_user=new_stack or self._new_user(old_plain, inputs),
            binding=new_stack,
            unknown=unknown,
        )
        outcome = self._run(run)
        if outcome.skipped:
            outcome.notices.append(
                "not checked in this preview, as inputs they read are not known until `up`: "
                + ", ".join(outcome.skipped)
            )
        self._tell(outcome.notices)
        if outcome.blockers:
            # Scrubbed like every error text of ours: a Salesforce message quoted in a reason could echo a
            # value registered as secret.
            failures = [dyn.CheckFailure(b.prop, scrub(b.reason)) for b in outcome.blockers]
            return dyn.CheckResult(result.inputs, failures)
        if not unknown:
            self.verdicts.keep(_Verdicts.key(self.stack, run), outcome.outputs)
        return result

    def _with_defaults(self, checked: Mapping[str, Any]) -> tuple[dict[str, Any], frozenset[str]]:
        """The inputs ``check`` returned, plain, every field present (its default when not given), and the
        names of those a preview does not know yet."""
        plain = unwrap({k: v for k, v in checked.items() if k != PROVIDER_KEY})[0]
        inputs: dict[str, Any] = {}
        for name, field in self.input_fields.items():
            if plain.get(name) is not None:
                inputs[name] = plain[name]
            elif not field.is_required():
                inputs[name] = field.get_default(call_default_factory=True)
        return inputs, frozenset(name for name, value in inputs.items() if is_unknown(value))

    def _changed(self, olds: Mapping[str, Any], inputs: Mapping[str, Any]) -> bool:
        """Whether a known input differs from the old one. ``olds`` are the old inputs (the engine's), or the
        outputs (a caller that passes those), where a secret is only its hash."""
        old_plain = unwrap(olds)[0]
        defaults, _ = self._with_defaults({})
        for name, new in inputs.items():
            if is_unknown(new):
                continue  # not known yet: `up` checks with the real value if it differs
            if name in self.secret_fields and name not in old_plain and f"{name}_hash" in old_plain:
                if not secret_matches(str(new), old_plain[f"{name}_hash"]):
                    return True
                continue
            old = old_plain.get(name)
            if normalize(defaults.get(name) if old is None else old) != normalize(new):
                return True
        return False

    @staticmethod
    def _new_user(old_plain: Mapping[str, Any], inputs: Mapping[str, Any]) -> bool:
        """The integration user already in this stack's state is its own; only a different username (or an
        opt-in withdrawn) is looked at again."""
        renamed = (
            str(old_plain.get("integration_username") or "").lower()
            != str(inputs.get("integration_username") or "").lower()
        )
        return renamed or (
            bool(old_plain.get("adopt_existing_user")) and not inputs.get("adopt_existing_user")
        )

    @staticmethod
    def _tell(notices: list[str]) -> None:
        """Say each notice once on stderr, which the CLI shows as a diagnostic of the run (pulumi/pulumi
        pkg/resource/plugin/plugin.go, ``newPlugin``'s ``runtrace``: a plugin's stderr lines go to the
        diagnostics sink)."""
        for notice in dict.fromkeys(notices):
            print(f"Preflight: {notice}", file=sys.stderr, flush=True)

    # --- create/update take check's verdict; read and delete touch nothing (NonArtifactProvider) ---
    def create(self, props: dict[str, Any]) -> dyn.CreateResult:
        inputs = self._validated(props)
        found = self._verdict(Run(self, inputs, new_stack=True, new_user=True, binding=True))
        outs = self.common_outputs(inputs, adopted=False, olds=None)
        outs.update(found)
        return dyn.CreateResult(f"preflight-{uuid.uuid4().hex[:12]}", outs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dyn.UpdateResult:
        old_plain = unwrap(olds)[0]
        self.check_org(old_plain)
        inputs = self._validated(news)
        found = self._verdict(Run(self, inputs, new_user=self._new_user(old_plain, inputs)))
        if not old_plain.get(ORG_OUTPUT):
            # A state from before the org binding: the org it binds itself to now may be production only with
            # the opt-in. Not something check can see (it has the old inputs, not the outputs).
            self._raise_blockers(self._run(Run(self, inputs, binding=True), [PRODUCTION]))
        outs = self.common_outputs(inputs, adopted=False, olds=olds)
        outs.update(found)
        return dyn.UpdateResult(outs)

    def artifact(self, inputs: Mapping[str, Any]) -> str:
        return "Preflight"

    # --- the checks ---
    def _verdict(self, run: Run) -> dict[str, Any]:
        """The outputs of ``check``'s run for these very inputs, else of a run made now (every blocker
        raised at once)."""
        kept = self.verdicts.take(_Verdicts.key(self.stack, run))
        if kept is not None:
            return {**DEFAULT_OUTPUTS, **kept}
        outcome = self._run(run)
        self._raise_blockers(outcome)
        return {**DEFAULT_OUTPUTS, **outcome.outputs}

    def _run(self, run: Run, checks: list[Check[Any]] | None = None) -> Outcome:
        # The warm-up asks for the client on its worker: a login problem is the reads' to report.
        return run_checks(
            run, CHECKS if checks is None else checks, warm_up=lambda: self.client.warm_metadata()
        )

    @staticmethod
    def _raise_blockers(outcome: Outcome) -> None:
        if outcome.blockers:
            raise blocking_error(outcome.blockers)

    def run_checks(
        self,
        inputs: Mapping[str, Any],
        *,
        new_user: bool = True,
        new_stack: bool = False,
        binding: bool = False,
    ) -> Outcome:
        """Every check for ``inputs`` (validated, defaults applied), as ``Run`` describes the flags."""
        return self._run(Run(self, inputs, new_stack=new_stack, new_user=new_user, binding=binding))


class Preflight(ArtifactResource, module="eci-aircall", name="Preflight"):
    """Checks the guide's prerequisites; everything else depends on it, so a failure means 0 writes."""

    provider_class = PreflightProvider
