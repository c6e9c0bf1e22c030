"""What a request handler may touch: the org, the counters and faults, the query cursors, the REST handler.

Handlers (`controls`, `aircall`, `tooling`, ...) take a :class:`Context` and a :class:`Request`; they never
see the HTTP server, so nothing imports `server` but `__main__`.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from dataclasses import dataclass
from typing import Any

from .rest import Cursors, Rest
from .store import ApiError, Org

FAULT_KINDS = (
    "latency",
    "http_503",
    "unable_to_lock_row",
    "request_limit_exceeded",
    "invalid_session_id",
    "reset_before",
    "reply_lost",
)


@dataclass(frozen=True)
class Request:
    """One HTTP request as the handlers see it: path unquoted, query parsed, header names lower-case."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_operation: dict[str, int] = {}
            self.writes = 0
            self.writes_by_operation: dict[str, int] = {}

    @staticmethod
    def is_api(operation: str) -> bool:
        # The fake Aircall API and the test controls are not Salesforce API calls.
        return not operation.startswith(("aircall.", "controls."))

    def count(self, operation: str) -> int:
        """Record one call; returns the Salesforce API call total afterwards."""
        with self._lock:
            self.by_operation[operation] = self.by_operation.get(operation, 0) + 1
            if self.is_api(operation):
                self.total += 1
            return self.total

    def write(self, operation: str) -> None:
        with self._lock:
            self.writes += 1
            self.writes_by_operation[operation] = self.writes_by_operation.get(operation, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "by_operation": dict(self.by_operation),
                "writes": self.writes,
                "writes_by_operation": dict(self.writes_by_operation),
            }


@dataclass
class Fault:
    kind: str
    operation: str = "*"
    name: str | None = None
    count: int = 1
    latency_ms: int = 0
    id: int = 0
    fired: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "operation": self.operation,
            "name": self.name,
            "count": self.count,
            "latency_ms": self.latency_ms,
            "fired": self.fired,
        }


class Faults:
    """Injected faults: each applies to the next `count` calls matching its operation pattern and name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Fault] = []
        self._next = 1

    def add(self, spec: dict[str, Any]) -> Fault:
        kind = str(spec.get("kind", ""))
        if kind not in FAULT_KINDS:
            raise ApiError(400, "INVALID_FAULT", f"kind must be one of {', '.join(FAULT_KINDS)}")
        unknown = set(spec) - {"kind", "operation", "name", "count", "latency_ms"}
        if unknown:
            raise ApiError(400, "INVALID_FAULT", f"unknown fault field(s): {', '.join(sorted(unknown))}")
        count = int(spec.get("count", 1))
        if count < 1:
            raise ApiError(400, "INVALID_FAULT", "count must be >= 1")
        with self._lock:
            f = Fault(
                kind=kind,
                operation=str(spec.get("operation") or "*"),
                name=spec.get("name"),
                count=count,
                latency_ms=int(spec.get("latency_ms", 0)),
                id=self._next,
            )
            self._next += 1
            self._items.append(f)
            return f

    def take(self, operation: str, names: list[str]) -> list[Fault]:
        """The faults that fire for this call (consuming one of each one's count)."""
        lowered = {n.lower() for n in names}
        fired: list[Fault] = []
        with self._lock:
            for f in list(self._items):
                if not fnmatch.fnmatchcase(operation, f.operation):
                    continue
                if f.name is not None and f.name.lower() not in lowered:
                    continue
                f.count -= 1
                f.fired += 1
                fired.append(f)
                if f.count <= 0:
                    self._items.remove(f)
        return fired

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.as_dict() for f in self._items]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class RateWindow:
    """Requests in the last `seconds`, for a per-key rate limit (in memory, like the counters)."""

    def __init__(self, seconds: float = 60.0) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._hits: list[float] = []

    def hit(self, limit: int) -> tuple[bool, int, int]:
        """Count one request unless `limit` are already in the window: (allowed, remaining, reset epoch)."""
        now = time.time()
        with self._lock:
            self._hits = [t for t in self._hits if now - t < self.seconds]
            reset_at = int((self._hits[0] if self._hits else now) + self.seconds)
            if len(self._hits) >= limit:
                return False, 0, reset_at
            self._hits.append(now)
            return True, limit - len(self._hits), reset_at

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()


class Context:
    """The running org as handlers see it."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.counters = Counters()
        self.faults = Faults()
        self.cursors = Cursors()
        self.rest = Rest(org, self.cursors)
        self.aircall_rate = RateWindow()

    @property
    def instance_url(self) -> str:
        return self.org.instance_url

    def daily_api_limit(self) -> int:
        return int(self.org.settings.get("daily_api_limit", 100000))

    def api_usage(self) -> tuple[int, int]:
        """(Salesforce API calls counted so far, the daily allocation)."""
        return self.counters.total, self.daily_api_limit()

    def reset(self) -> None:
        """Back to the seeded org; counters, faults, cursors and rate windows cleared."""
        self.org.reset()
        self.counters.reset()
        self.faults.clear()
        self.cursors.clear()
        self.aircall_rate.clear()
