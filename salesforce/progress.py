"""Progress lines for waits: one when a step starts waiting longer than about 2 s, one when it is over.

A dynamic provider's stderr reaches the person running ``pulumi up``: the CLI shows each line a plugin writes
as a diagnostic (pulumi/pulumi pkg/resource/plugin/plugin.go, ``newPlugin``'s ``runtrace``: stderr lines go to
``Diag.Infoerrf``). So a wait says what it waits for there instead of leaving the run silent. Short waits
(a poll answered at once, one quick retry) print nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

#: A wait that may last longer than this is announced before it starts.
THRESHOLD_SECONDS = 2.0


class Wait:
    """The waits of one step: ``sleep`` announces the wait once it would take the step past the threshold,
    ``done`` closes the announcement (nothing is printed for a step that never waited long)."""

    def __init__(
        self,
        step: str,
        org: str,
        what: str,
        *,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        threshold: float | None = None,
    ) -> None:
        self.step, self.org, self.what = step, org, what
        self._stream = stream
        self._clock, self._sleep = clock, sleep
        self._threshold = THRESHOLD_SECONDS if threshold is None else threshold
        self._start = clock()
        self.announced = False

    def _say(self, text: str) -> None:
        stream = self._stream or sys.stderr
        print(text, file=stream, flush=True)

    def sleep(self, seconds: float, what: str | None = None) -> None:
        elapsed = self._clock() - self._start
        if not self.announced and elapsed + seconds > self._threshold:
            self.announced = True
            self._say(f"{self.step} on {self.org}: waiting for {what or self.what}...")
        self._sleep(seconds)

    def done(self, outcome: str = "done") -> None:
        if self.announced:
            self._say(f"{self.step} on {self.org}: {outcome} after {self._clock() - self._start:.0f} s")
            self.announced = False
