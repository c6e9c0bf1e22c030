"""The official Salesforce CLI (`sf`) as an acceptance client of the emulator (tests/acceptance).

`make test` installs the CLI and its Node runtime into `.tools/sf-cli` first (Makefile target `sf-cli`). An
`Sf` runs the CLI against one emulator org in a CLI home of its own: HOME and the XDG directories point into
a temporary folder, so nothing reads or writes the user's ~/.sf or ~/.sfdx, and auth files are stored in plain
files (SF_USE_GENERIC_UNIX_KEYCHAIN) instead of the desktop keychain. The CLI trusts the emulator's CA through
NODE_EXTRA_CA_CERTS, the way Node is told about an extra root.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from devtools.sf_emulator.client import EmulatorHandle
from tests.support import REPO

SF_CLI = REPO / ".tools" / "sf-cli" / "node_modules"
NODE = SF_CLI / ".bin" / "node"
RUN_JS = SF_CLI / "@salesforce" / "cli" / "bin" / "run.js"


class SfError(AssertionError):
    """The CLI exited non-zero; carries its JSON answer."""

    def __init__(self, args: list[str], answer: dict[str, Any], stderr: str) -> None:
        super().__init__(f"sf {' '.join(args)} -> {json.dumps(answer)[:2000]}\n{stderr[-2000:]}")
        self.answer = answer


class Sf:
    """Runs `sf ... --json` against one emulator org with an isolated home."""

    def __init__(self, home: Path, org: EmulatorHandle) -> None:
        self.home = home
        self.org = org
        home.mkdir(parents=True, exist_ok=True)
        self.env = {
            "PATH": f"{NODE.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "NODE_EXTRA_CA_CERTS": org.ca_cert,
            # Node 22's on-disk compile cache: each CLI start compiles the same few thousand modules; kept
            # beside the installed CLI, it cuts the CPU of every later start by about a fifth (measured).
            "NODE_COMPILE_CACHE": str(SF_CLI.parent / ".compile-cache"),
            "SF_DISABLE_TELEMETRY": "true",
            "SF_AUTOUPDATE_DISABLE": "true",
            # What the installed CLI really reads: @oclif/plugin-update's init hook returns early only on
            # scopedEnvVarTrue("DISABLE_AUTOUPDATE"), i.e. SF_DISABLE_AUTOUPDATE; without it every command
            # spawns a detached `sf update --autoupdate` that outlives the test.
            "SF_DISABLE_AUTOUPDATE": "true",
            "SF_SKIP_NEW_VERSION_CHECK": "true",
            "SF_USE_GENERIC_UNIX_KEYCHAIN": "true",
            "SF_DISABLE_DNS_CHECK": "true",
            "SF_CONTAINER_MODE": "false",
            "SF_LOG_LEVEL": "warn",
            "FORCE_COLOR": "0",
            "LANG": "C.UTF-8",
        }

    def __call__(
        self, *args: str, ok: bool = True, stdin: str | None = None, cwd: Path | None = None, **env: str
    ) -> dict[str, Any]:
        argv = [*args, "--json"]
        proc = subprocess.run(
            [str(NODE), str(RUN_JS), *argv],
            env={**self.env, **env},
            cwd=str(cwd or self.home),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=180,
        )
        try:
            answer = json.loads(proc.stdout)
        except ValueError:
            raise SfError(argv, {"stdout": proc.stdout}, proc.stderr) from None
        if ok and proc.returncode != 0:
            raise SfError(argv, answer, proc.stderr)
        if not ok and proc.returncode == 0:
            raise SfError(argv, answer, "expected a failure")
        return answer

    def login(self, alias: str = "emu") -> dict[str, Any]:
        """`sf org login access-token` with the emulator's admin session (SF_ACCESS_TOKEN, no prompt)."""
        result = self(
            "org",
            "login",
            "access-token",
            "--instance-url",
            self.org.instance_url,
            "--alias",
            alias,
            "--no-prompt",
            SF_ACCESS_TOKEN=self.org.access_token,
        )["result"]
        assert isinstance(result, dict)
        return result


def require_cli() -> None:
    if not (NODE.exists() and RUN_JS.exists()):
        pytest.fail("the Salesforce CLI is not installed: run `make sf-cli` (make test does)", pytrace=False)
