"""How an error leaves a provider method: ours once, as one message with its fix; others with a traceback.

The Python dynamic-provider host (``python -m pulumi.dynamic``; pulumi/dynamic/__main__.py,
``_abort_with_traceback``) catches whatever a provider method raises and sends ``traceback.format_exc()`` to
the engine as the error's text, which the CLI prints under the resource. Production runs Pulumi's own host,
so the remedy lives here, at the one point every provider method the host calls goes through
(:class:`Reporting`, a base of every provider class):

* an error of ours (a :class:`~salesforce.SalesforceError`, a :class:`~salesforce.UsageError`) leaves without
  its context, and in the host ``sys.tracebacklimit`` is 0, so ``format_exc`` prints its one line, the
  message with its fix ("When set to 0 or less, all traceback information is suppressed and only the
  exception type and value are printed": Python docs, ``sys.tracebacklimit``);
* any other exception (a bug) carries its formatted traceback as a note (PEP 678), which is printed after its
  line whatever the limit;
* the same error with the same fix, met by several resources of one run (a stale token fails every read of a
  refresh), gives its fix once: each later one names the resource whose error gives it.

The host serves one engine run, so "once" is per run. Outside the host (the program, tests calling providers
directly) errors pass through untouched.
"""

from __future__ import annotations

import functools
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

from salesforce import SalesforceError

F = TypeVar("F", bound=Callable[..., Any])

#: The methods the host calls on a provider (pulumi/dynamic/__main__.py: get_provider, then the RPCs).
HOST_METHODS = ("configure", "check", "diff", "create", "read", "update", "delete")
#: A traceback's frames, all of them, whatever ``sys.tracebacklimit`` says.
_ALL_FRAMES = 1_000_000
_MARK = "_eci_reported"

_lock = threading.Lock()
#: An error's cause and fix (its kind, service, code and hint; not the wording, which differs between REST
#: and SOAP for one cause) → the artifact whose error gave the fix.
_given: dict[tuple[str, ...], str] = {}


def in_host() -> bool:
    """Whether this process is Pulumi's Python dynamic-provider host (started as ``python -m
    pulumi.dynamic``, by Pulumi's pulumi-resource-pulumi-python plugin and by ours alike)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return getattr(spec, "name", None) == "pulumi.dynamic.__main__"


def reported(method: F) -> F:
    """``method`` with its errors leaving as described in the module's docstring (idempotent: an error an
    inner provider method has reported passes through the outer one unchanged)."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            if getattr(exc, _MARK, False) or not in_host():
                raise
            sys.tracebacklimit = 0
            if isinstance(exc, SalesforceError):
                raise _once(exc) from None
            exc.add_note(_traceback_of(exc))
            setattr(exc, _MARK, True)
            raise

    setattr(wrapper, _MARK, True)
    return wrapper  # type: ignore[return-value]


def _traceback_of(exc: BaseException) -> str:
    """The traceback printed for ``exc`` with every frame, less its last line (the exception's own, which
    the host prints first)."""
    formatted = traceback.TracebackException.from_exception(exc, limit=_ALL_FRAMES)
    lines, last = list(formatted.format()), list(formatted.format_exception_only())
    if lines[-len(last) :] == last:
        lines = lines[: -len(last)]
    return "".join(lines).rstrip("\n")


def _once(err: SalesforceError) -> SalesforceError:
    """``err`` the first time its cause and fix are met in this run; later, a copy that names that first
    resource instead of repeating the fix."""
    if err.hint:
        cause = (type(err).__qualname__, err.service, err.error_code, err.hint)
        with _lock:
            first = _given.setdefault(cause, err.artifact or "the first resource that failed")
        if first != (err.artifact or "the first resource that failed"):
            err = err.with_hint(f"the fix is in the same error on {first}")
    setattr(err, _MARK, True)
    return err


class Reporting:
    """A base of every provider class: each host method a class defines (:data:`HOST_METHODS`) is wrapped in
    :func:`reported` when the class is made, so an override cannot bypass it."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in HOST_METHODS:
            method = cls.__dict__.get(name)
            if callable(method) and not getattr(method, _MARK, False):
                setattr(cls, name, reported(method))
