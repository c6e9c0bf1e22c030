"""The lifecycle of a Salesforce artifact: create (or adopt what is there), read (refresh shows drift),
update and delete, with the create journal's claims, the recorded identity that tells ours from a same-named
replacement, and the observed outputs. A module does not change this; it declares and overrides what
:mod:`providers.kit.hooks` lists."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pulumi.dynamic as dyn

from providers.kit.hooks import ArtifactHooks, Live
from providers.kit.inputs import InputError
from providers.kit.journal import CreateJournal, JournalEntry
from providers.kit.provider import ORG_OUTPUT
from providers.kit.values import PROVIDER_KEY, same_id, unwrap
from salesforce import SalesforceError, UsageError

log = logging.getLogger(__name__)

#: An output of states written before measurements were kept in the outputs only: dropped at the next refresh.
OBSERVED_BEFORE = "observed_before"


class ArtifactProvider(ArtifactHooks):
    """check / diff / create (adopt) / read / update / delete for one Salesforce artifact type."""

    @classmethod
    def output_names(cls) -> list[str]:
        return [*super().output_names(), "identity", *cls.observed]

    # --- observed outputs (measured in the org) ---
    #
    # A measurement is kept in the outputs only, never compared with the one before. The real engine
    # stores what ``read`` returns as the new baseline (pulumi/pulumi pkg/resource/deploy/step.go,
    # RefreshStep.Apply), so a refresh that compared measurements would alarm once when a credential
    # breaks (an edge), be clean from the next refresh while it is still broken, and alarm again for the
    # recovery. The alarm is a level instead, raised by what reads the measurement now: tools/status.py
    # (`preview --refresh`, nothing stored) fails on every run while a probe fails. ``create`` and every
    # ``update`` measure, so the ``up`` that fixes something shows the health it left; a no-op ``up``
    # calls nothing and keeps the last measurement.

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
        outs.pop(OBSERVED_BEFORE, None)
        if self.observed:
            outs.update(self.observe(live.id, inputs_now))
        inputs_now = self.refreshed_inputs(outs)
        if self.secret_fields:
            outs["write_only_fields"] = sorted(self.secret_fields)
            log.info(
                "%s: %s cannot be read back from Salesforce; their drift cannot be detected",
                self.artifact(outs),
                ", ".join(sorted(self.secret_fields)),
            )
        outs = self._wrap_secret_outputs(outs)
        return dyn.ReadResult(live.id, outs, inputs_now)

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
                        raise UsageError(
                            "REPLACED_OUTSIDE_STACK",
                            self._replaced_message(old_plain, current) + "; nothing was written",
                            artifact=self.artifact(old_plain),
                            hint="run `pulumi refresh` (it drops it from this stack's state), "
                            "then `pulumi up`",
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
        outs = self.common_outputs(inputs, adopted=adopted, olds=olds)
        identity = (live.identity if live is not None else None) or (olds or {}).get("identity")
        # Without the unknown parts: a map's null entries do not survive the trip through state unchanged.
        outs["identity"] = {k: v for k, v in identity.items() if v is not None} if identity else None
        outs.update(self.computed_outputs(artifact_id, inputs, live, olds))
        if self.observed:
            outs.update(self.observe(artifact_id, inputs))
        return self._wrap_secret_outputs(outs)
