"""What each process of an `up` imports before it can work, and what that costs: `python -X importtime`;
and, with `make bench BENCH_ARGS=--profile`, where the CPU of an `up` goes in each Python process.

Three sets, each in a fresh interpreter of the project's venv:
- the program: what `__main__.py` imports (the Pulumi SDK, the component, the providers it registers);
- the provider plugin: what `python -m pulumi.dynamic` imports before it serves (pulumi/dynamic/__main__.py's
  own imports), plus the provider modules its first unpickling loads (every module of `providers/`);
- the first call: what a provider loads on top of that when it first talks to Salesforce (the HTTP and
  SOAP clients the transport imports lazily).
`-X importtime` prints each import's own and cumulative microseconds on stderr (Python docs, "-X importtime");
the own times are summed by top-level package (wall time: how the cost splits), and the whole block's CPU
time (`time.process_time`) is the total.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .harness import REPO

# The plugin's own imports: pulumi/dynamic/__main__.py's import block (Pulumi SDK v3).
PLUGIN_IMPORTS = (
    "dill",
    "grpc",
    "google.protobuf.empty_pb2",
    "pulumi.runtime",
    "pulumi.runtime.proto.provider_pb2_grpc",
    "pulumi.dynamic",
)
# What the transport imports when the first call is made (salesforce/client.py, imported lazily).
FIRST_CALL_IMPORTS = ("requests", "simple_salesforce", "zeep", "tenacity")
TOP_PACKAGES = 12  # the packages kept per profile, largest first
_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


@dataclass(frozen=True)
class ImportProfile:
    label: str
    total_s: float  # CPU seconds the imports took (process time: steadier than wall on a busy machine)
    by_package: dict[str, float]  # top-level package → seconds (own times), the largest TOP_PACKAGES
    loaded: frozenset[str]  # every module imported


def provider_modules() -> list[str]:
    return sorted(f"providers.{p.stem}" for p in (REPO / "providers").glob("*.py") if p.stem != "__init__")


def profile(label: str, modules: list[str], *, after: list[str] | None = None) -> ImportProfile:
    """`-X importtime` of importing `modules`, in an interpreter that has imported `after` first (not
    counted: a marker line on stderr separates the two)."""
    marker = "-- eci-bench: measured from here --"
    code = "import sys, time\n" + "".join(f"import {m}\n" for m in after or [])
    code += f"sys.stderr.write({marker!r} + '\\n')\nt0 = time.process_time()\n"
    code += "".join(f"import {m}\n" for m in modules) + "print(time.process_time() - t0)\n"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    totals: dict[str, float] = {}
    loaded = set()
    for line in proc.stderr.split(marker, 1)[1].splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        loaded.add(m.group(4))
        top = m.group(4).split(".")[0]
        totals[top] = totals.get(top, 0.0) + int(m.group(1)) / 1e6
    largest = sorted(((k, round(v, 3)) for k, v in totals.items()), key=lambda kv: -kv[1])
    ordered = dict(largest[:TOP_PACKAGES])
    return ImportProfile(label, round(float(proc.stdout.split()[-1]), 3), ordered, frozenset(loaded))


def profiles() -> list[ImportProfile]:
    program = ["pulumi", "components.eci_aircall"]
    plugin = [*PLUGIN_IMPORTS, *provider_modules()]
    return [
        profile("program", program),
        profile("provider plugin", plugin),
        profile("first call", list(FIRST_CALL_IMPORTS), after=plugin),
    ]


def heavy_in(p: ImportProfile, names: tuple[str, ...] = FIRST_CALL_IMPORTS) -> list[str]:
    """Which of the HTTP/SOAP client packages a set of imports loads (the program should load none)."""
    return sorted(n for n in names if n in p.loaded)


# --- where the CPU of an `up` goes, per process (the hook's cProfile on every thread, in CPU seconds)

OUR_CODE = re.compile(r"^(?!.*/site-packages/).*(/(salesforce|providers|components)/|/__main__\.py$)")
PACKAGE_INIT = re.compile(r"/site-packages/([A-Za-z_][\w]*)/__init__\.py$")


@dataclass(frozen=True)
class CpuProfile:
    process: str  # the hook's role of the process
    total_s: float  # CPU seconds the profile saw, every thread
    ours: list[tuple[str, float]]  # our functions → cumulative CPU seconds, largest first
    packages: list[tuple[str, float]]  # third-party packages → CPU seconds of importing them


def read_profiles(directory: Path, top: int = 8) -> list[CpuProfile]:
    """The hook's per-process profiles (`ECI_BENCH_PROFILE_DIR`): our own functions by cumulative CPU, and
    what importing each top-level third-party package cost (its `__init__` module's cumulative time)."""
    import pstats

    found = []
    for path in sorted(directory.glob("*.prof")):
        stats: Any = pstats.Stats(str(path))
        ours: list[tuple[str, float]] = []
        packages: list[tuple[str, float]] = []
        for (file, line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
            package = PACKAGE_INIT.search(file)
            if package and func == "<module>":
                packages.append((package.group(1), round(float(ct), 3)))
            elif OUR_CODE.search(file):
                short = re.sub(r"^.*/(salesforce|providers|components)/", r"\1/", file)
                ours.append((f"{short}:{line} {func}", round(float(ct), 3)))
        ours.sort(key=lambda e: -e[1])
        packages.sort(key=lambda e: -e[1])
        found.append(CpuProfile(path.stem.rsplit("-", 1)[0], round(float(stats.total_tt), 3), ours[:top],
                                packages[:top]))  # fmt: skip
    return found
