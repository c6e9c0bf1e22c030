"""What a Preflight check is, and how a run of them goes.

A check is a name, a read and a verdict (the shape of CumulusCI's ``tasks/preflight/``: one small unit per
check). The read asks Salesforce (or Aircall) and returns what it found; the verdict turns that into a pass,
or into blockers, each saying what is wrong and its fix (the config key to set or the guide step to follow).

A run starts every applicable check's read at once, each on a worker thread (every other resource of the
stack waits for Preflight, so its share of the critical path is about the slowest read, not the sum of them),
then takes the verdicts in the guide's order and keeps every blocker: one run lists all of them. A read that
fails with a :class:`SalesforceError` is a blocker of its own (the same failure met by several reads, an
expired session say, is listed once); any other exception is a bug and propagates with its traceback.

Reads that serve several checks (the Organization row, a ``listMetadata`` group) are started through
:meth:`Run.start`, which runs each (read, arguments) once per run: the second asker waits for the first's
answer. A check whose inputs are not known yet (a preview, where they are outputs of other resources) is
skipped and named in :attr:`Outcome.skipped`.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from providers.kit import InputError
from salesforce import SalesforceClient, SalesforceError

if TYPE_CHECKING:
    from providers.kit import ProviderBase

T = TypeVar("T")

#: Worker threads of a run. A run has at most 12 reads, plus the look-ups they start through ``Run.start``
#: (one per guide component, one Site query) and the WSDL warm-up: 20 tasks, some of them waiting for
#: others' answers, so the pool must hold them all or a waiter could keep a queued read from starting. The
#: component look-ups share two ``listMetadata`` calls (one per listing group; the others wait for its
#: answer), so at most 10 Salesforce calls are in flight: within requests' default pool of 10 connections per
#: host, so every socket is kept for reuse.
MAX_TASKS = 24


class PreflightFailed(InputError):
    """Prerequisites the guide assumes are missing; nothing has been written."""


@dataclass(frozen=True)
class Blocker:
    """What stops the stack: nothing may be written until it is resolved. Either a prerequisite of the guide
    that is not met (whoever runs the stack resolves it: a usage error), or an error that kept a check from
    being made (``raised``: Salesforce or Aircall failed the call, or a refusal of ours such as an insecure
    URL), which keeps its kind."""

    #: What is wrong, in plain words, naming what was found.
    message: str
    #: What to do: the config key to set (the command) or the guide step to follow.
    fix: str
    #: The Preflight input it is about (the engine's check failure names it), or "" for the org itself.
    prop: str = ""
    raised: SalesforceError | None = None

    def error(self) -> SalesforceError:
        """The blocker as the error a create raises for it alone."""
        if self.raised is not None:
            return self.raised
        return PreflightFailed(self.message, artifact="Preflight", hint=self.fix)

    @property
    def reason(self) -> str:
        """Its text as a check failure: the error as every error of ours prints (``<service> <CODE>:
        <message> — <fix>``, so a report tells a usage error from a failure: ``salesforce.errors.kind_of``),
        without the artifact, which the engine names."""
        if self.raised is not None:
            return f"{self.message}: {self.raised}" if self.message else str(self.raised)
        error = self.error()
        error.artifact = ""
        return str(error)


@dataclass
class Verdict:
    """A check's result: no blocker is a pass. ``outputs`` become Preflight outputs (``edition`` ...);
    ``notices`` are said to the person running the command without stopping it."""

    blockers: list[Blocker] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)


PASS = Verdict()


@dataclass(frozen=True)
class Check(Generic[T]):
    """One check: its name (what the person reads), the inputs it reads (``needs``: the check is skipped
    while one of them is unknown), its read (the calls) and its verdict on what the read found (no call)."""

    name: str
    read: Callable[[Run], T]
    verdict: Callable[[Run, T], Verdict]
    needs: tuple[str, ...] = ()
    #: Whether the check applies to this run at all (e.g. only on a new stack, or only with sharedEci create).
    applies: Callable[[Run], bool] = lambda run: True


@dataclass
class Outcome:
    """Everything a run found, the checks in the guide's order."""

    blockers: list[Blocker] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    #: Checks not run because an input they read is not known yet (a preview).
    skipped: list[str] = field(default_factory=list)


class Run:
    """One run of the checks: the inputs (validated, defaults applied) and what this run is for.

    ``new_stack``: the stack has created nothing yet, so the guide's components it is to create must not
    exist already. ``new_user``: the integration username is not yet this stack's own (a new stack, or a
    changed name), so a user of that name must not be someone else's. ``binding``: the stack is about to
    record the org it is bound to, which may be production only when the config opts in.
    """

    def __init__(
        self,
        provider: ProviderBase,
        inputs: Mapping[str, Any],
        *,
        new_stack: bool = False,
        new_user: bool = True,
        binding: bool = False,
        unknown: frozenset[str] = frozenset(),
    ) -> None:
        self.provider = provider
        self.inputs = inputs
        self.new_stack = new_stack
        self.new_user = new_user
        self.binding = binding
        self.unknown = unknown
        self._pool: ThreadPoolExecutor | None = None
        self._started: dict[Hashable, Future[Any]] = {}
        self._lock = threading.Lock()

    @property
    def client(self) -> SalesforceClient:
        return self.provider.client

    @property
    def shared_eci(self) -> str:
        return str(self.inputs.get("shared_eci"))

    @property
    def app_kind(self) -> str:
        return str(self.inputs.get("oauth_app_kind"))

    def start(self, read: Callable[..., T], *args: Hashable) -> Future[T]:
        """``read(self, *args)`` on a worker thread, once per run: a second caller gets the same future. Each
        task runs in a copy of the caller's context, so context-scoped state (a tracer's current span, the
        bench's call attribution) follows the call onto the worker thread."""
        key = (read, args)
        with self._lock:
            future = self._started.get(key)
            if future is None:
                if self._pool is None:
                    raise RuntimeError("Run.start outside of run_checks")
                future = self._pool.submit(contextvars.copy_context().run, read, self, *args)
                self._started[key] = future
        return future

    def get(self, read: Callable[..., T], *args: Hashable) -> T:
        return self.start(read, *args).result()

    def __enter__(self) -> Run:
        self._pool = ThreadPoolExecutor(max_workers=MAX_TASKS, thread_name_prefix="preflight")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._pool is not None
        self._pool.shutdown(wait=True)
        self._pool = None


def made_by_this_stack(run: Run, artifact: str, identity: Mapping[str, Any]) -> bool:
    """Whether a create of ``artifact`` by this stack was cut short after making what was found: its create
    journal entry names that record Id (never creator and time alone: issue 21, M1)."""
    from providers.kit import CreateJournal

    entry = CreateJournal().pending(run.provider.org_key(), run.provider.stack, artifact)
    return entry is not None and CreateJournal.claims(entry, identity)


def provenance(identity: Mapping[str, Any]) -> str:
    """Who created a component and when, as Salesforce recorded it (the creator's name where read)."""
    who = identity.get("created_by_name") or identity.get("created_by_id") or "an unknown user"
    return f"created {identity.get('created_date') or 'at an unknown time'} by {who}"


def run_checks(run: Run, checks: list[Check[Any]], *, warm_up: Callable[[], None] | None = None) -> Outcome:
    """Every applicable check of ``checks`` (the guide's order), reads concurrently; every blocker kept."""
    outcome = Outcome()
    applicable = [check for check in checks if check.applies(run)]
    with run:
        if warm_up is not None:
            # Parse the Metadata WSDL while the first REST reads (and a login) are in flight, instead of on
            # the ECI-settings read's path (~0.2 s of CPU, once per process). Its failure, if any, is the
            # readMetadata's to report.
            run.start(_warm, warm_up)
        started: list[tuple[Check[Any], Future[Any]]] = []
        for check in applicable:
            if run.unknown.intersection(check.needs):
                outcome.skipped.append(check.name)
                continue
            started.append((check, run.start(check.read)))
        failures: dict[tuple[str, str, str], None] = {}
        for check, future in started:
            try:
                found = future.result()
            except SalesforceError as err:
                # The same failure met by several reads (an expired session, the daily limit): once. A SOAP
                # fault's text repeats its code ("CODE: message"), a REST error's does not.
                key = (err.service, err.error_code, err.message.removeprefix(f"{err.error_code}: "))
                if key not in failures:
                    failures[key] = None
                    outcome.blockers.append(_unreadable(check, err))
                continue
            verdict = check.verdict(run, found)
            outcome.blockers += verdict.blockers
            outcome.outputs.update(verdict.outputs)
            outcome.notices += verdict.notices
    return outcome


def _warm(run: Run, warm_up: Callable[[], None]) -> None:
    warm_up()


def _unreadable(check: Check[Any], err: SalesforceError) -> Blocker:
    """A read that failed: the check could not be made. The error says what went wrong and its fix, and
    keeps its kind (a service's failure, or a usage error such as a login that reaches another org)."""
    return Blocker(f"{check.name} could not be checked", err.hint, raised=err)
