"""Suite-wide setup: the fixtures of tests/support (the emulator, the in-process Metadata client), and the
real `pulumi` CLI every lifecycle test runs."""

from __future__ import annotations

import os
import sys

import pytest

pytest_plugins = ["tests.support.emulator", "tests.support.in_process_mdapi"]


def pytest_configure(config: pytest.Config) -> None:
    """Find the CLI `make pulumi` builds (or a suitable one on PATH) once, for every worker, as ECI_PULUMI.

    `make test` builds it first. Run without it, a missing CLI fails the run under CI (`CI=true`): a lifecycle
    test is never skipped there for want of the CLI.
    """
    if os.environ.get("ECI_PULUMI"):
        return
    from devtools.pulumi_cli import build

    found = build.find(build.required_version())
    if found is not None:
        os.environ["ECI_PULUMI"] = str(found)
    elif os.environ.get("CI", "").lower() == "true":
        pytest.exit("no pulumi CLI: run `make pulumi` (or `make test`, which builds it)", returncode=3)
    else:
        print("warning: no pulumi CLI found; lifecycle tests will fail. Run `make pulumi`.", file=sys.stderr)
