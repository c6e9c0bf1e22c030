"""Start deriving the stack's passphrase key in a thread before the engine's heavy imports.

hashlib's PBKDF2 releases the GIL, so the ~0.25 s derivation overlaps importing grpc and the Pulumi SDK.
Best effort only: whatever goes wrong here is found and reported again on the normal path.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from pathlib import Path


def _salt_of(text: str) -> str | None:
    match = re.search(r"^encryptionsalt:\s*(\S+)\s*$", text, re.MULTILINE)
    return match.group(1).strip("'\"") if match else None


def _work(argv: list[str]) -> None:
    from .secrets import read_passphrase, warm_key

    def opt(name: str, default: str | None = None) -> str | None:
        for i, arg in enumerate(argv):
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
        return default

    stack = opt("--stack") or opt("-s")
    if not stack:
        return
    cwd = Path(opt("--cwd") or opt("-C") or ".")
    project = (cwd / "Pulumi.yaml").read_text()
    config_dir = re.search(r"^stackConfigDir:\s*(\S+)", project, re.MULTILINE)
    stack_file = cwd / (config_dir.group(1) if config_dir else ".") / f"Pulumi.{stack}.yaml"
    salts = [_salt_of(stack_file.read_text()) if stack_file.exists() else None]
    # A stack file without an encryptionsalt leaves the state with a salt of its own.
    name = re.search(r"^name:\s*(\S+)", project, re.MULTILINE)
    state_file = Path(opt("--state-dir") or str(cwd)) / ".pulumi" / "stacks"
    if name:
        state_file = state_file / name.group(1).strip("'\"") / f"{stack}.json"
        if state_file.exists():
            match = re.search(r'"salt":\s*"(v1:[^"]+)"', state_file.read_text())
            salts.append(match.group(1) if match else None)
    passphrase = read_passphrase(dict(os.environ))
    for salt in dict.fromkeys(s for s in salts if s):
        warm_key(passphrase, salt)


def start(argv: list[str]) -> None:
    def run() -> None:
        with contextlib.suppress(Exception):  # best effort, see the module doc
            _work(argv)

    threading.Thread(target=run, daemon=True).start()
