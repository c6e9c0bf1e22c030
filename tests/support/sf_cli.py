"""The official Salesforce CLI (`sf`) as an acceptance client of the emulator (tests/acceptance).

`make test` installs the CLI and its Node runtime into `.tools/sf-cli` first (Makefile target `sf-cli`). An
`Sf` runs the CLI against one emulator org in a CLI home of its own (devtools/sf_cli: HOME and the XDG
directories in a temporary folder, auth files in plain files, the emulator's CA trusted through
NODE_EXTRA_CA_CERTS).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from devtools import sf_cli
from devtools.sf_emulator.client import EmulatorHandle

NODE = sf_cli.NODE
RUN_JS = sf_cli.RUN_JS


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
        self.env = sf_cli.isolated_env(home, org.ca_cert)

    def __call__(
        self, *args: str, ok: bool = True, stdin: str | None = None, cwd: Path | None = None, **env: str
    ) -> dict[str, Any]:
        argv = [*args, "--json"]
        proc = subprocess.run(
            sf_cli.command(*argv),
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
    if not sf_cli.installed():
        pytest.fail(f"{sf_cli.MISSING} (make test does)", pytrace=False)
