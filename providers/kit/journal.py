"""The create journal: which creates this stack made or began, so that a crash mid-``up`` does not turn the
stack's own artifact into someone else's (an adoption) on the next run."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from providers.kit.values import parse_salesforce_time, same_id

log = logging.getLogger(__name__)


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
