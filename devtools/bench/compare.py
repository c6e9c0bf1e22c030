"""`pulumi up` beside the admin's `sf` script (devtools/bench/sf_admin.py): one emulator, one latency, rounds
alternating between the two, the org reset to its seeded state before each side's setup.

Per round, on each side: set up an empty org (wall, Salesforce API calls, client CPU), run the same thing
again on the configured org (the no-op re-run), then make the change an admin makes in Setup (the demo's:
the site's clickjack protection relaxed) and run the drift check: `pulumi refresh --skip-preview
--expect-no-changes` (the scheduled job's) against `sf project retrieve start` + diff + `sf data query`.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from devtools import demo
from devtools.sf_emulator.client import EmulatorHandle
from providers.config.keys import AIRCALL_API_TOKEN

from . import harness, sf_admin
from .harness import Run, Target


@dataclass
class Round:
    up: Run
    noop: Run
    refresh: Run
    sf_setup: sf_admin.SfRun
    sf_rerun: sf_admin.SfRun
    sf_drift: sf_admin.SfRun


@dataclass
class Comparison:
    latency_ms: int
    rounds: list[Round] = field(default_factory=list)
    drift: str = ""  # the out-of-band change each drift check is run against
    error: str = ""  # why it stopped, if it did


def change_in_setup(emu: EmulatorHandle) -> str:
    """The demo's out-of-band change (devtools/demo.py), through the Metadata API as Setup makes it."""
    return demo.change_site_in_setup(cast(Any, SimpleNamespace(mdapi=emu.mdapi())))


def pulumi_drift_seen(run: Run) -> list[str]:
    """What `pulumi refresh` reported as changed: resource → the inputs that differ."""
    seen = []
    for step in run.data.get("steps") or []:
        if step.get("op") not in ("same", "refresh", "read"):
            keys = ", ".join(step.get("inputDiff") or step.get("diffs") or [])
            seen.append(f"{str(step['urn']).rsplit('::', 1)[-1]}" + (f": {keys}" if keys else ""))
    return seen


def run_comparison(
    target: Target, root: Path, *, latency_ms: int, rounds: int, progress: Callable[[str], None] = print
) -> Comparison:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    result = Comparison(latency_ms=latency_ms)
    emu = harness.start_emulator(root / "org", latency_ms=latency_ms)
    try:
        sf = sf_admin.Sf(root / "sf-home", emu, log_file=False)
        sf.login()  # once, before anything is timed: an admin's CLI is logged in already
        source: sf_admin.AdminSource | None = None
        token = target.config_for(emu)[1][AIRCALL_API_TOKEN.full_name]
        for i in range(rounds):
            progress(f"    round {i + 1}/{rounds}: pulumi")
            emu.reset()
            state = root / f"state{i}"
            up = harness.run_engine(target, emu, "up", state_dir=state, work=root)
            if up.returncode != 0:
                result.error = f"pulumi up failed: {up.error}"
                return result
            if source is None:
                username = str((up.data.get("outputs") or {}).get("integrationUserUsername"))
                source = sf_admin.source_from_org(
                    sf, root / "admin", integration_username=username, aircall_api_token=token,
                    consumer_secret=secrets.token_hex(32),
                )  # fmt: skip
            noop = harness.run_engine(target, emu, "up", state_dir=state, work=root)
            result.drift = change_in_setup(emu)
            refresh = harness.run_engine(
                target, emu, "refresh", state_dir=state, work=root, expect_no_changes=True
            )
            progress(f"    round {i + 1}/{rounds}: sf")
            emu.reset()
            setup = sf_admin.setup(sf, source)
            rerun = sf_admin.setup(sf, source, label="re-run")
            change_in_setup(emu)
            drift = sf_admin.drift_check(sf, source, Path(setup.seen["project"]), setup.seen["guest"])
            result.rounds.append(Round(up, noop, refresh, setup, rerun, drift))
            if not setup.ok:
                result.error = f"the sf script failed at `sf {setup.failed_at}`: {setup.error}"
                return result
        return result
    finally:
        emu.stop()


def script_commands(rounds: Sequence[Round]) -> list[str]:
    """The `sf` commands one setup ran, for the report."""
    return [f"sf {c.args}" for c in rounds[0].sf_setup.commands] if rounds else []
