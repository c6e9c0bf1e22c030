"""The official Salesforce CLI pinned by this folder (package.json, package-lock.json), as `make sf-cli`
installs it into the git-ignored `.tools/sf-cli`: where it is, and the environment that runs it against an
emulator org in isolation. Used by the emulator's acceptance tests (tests/acceptance) and by `make bench`,
which runs an admin's `sf` script beside `pulumi up`.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / ".tools" / "sf-cli" / "node_modules"
NODE = NODE_MODULES / ".bin" / "node"
RUN_JS = NODE_MODULES / "@salesforce" / "cli" / "bin" / "run.js"
MISSING = "the Salesforce CLI is not installed: run `make sf-cli`"


def installed() -> bool:
    return NODE.exists() and RUN_JS.exists()


def command(*args: str) -> list[str]:
    """The argv of `sf ARGS...`: the installed CLI is `node run.js` (its `bin/run.js`, what `sf` starts)."""
    return [str(NODE), str(RUN_JS), *args]


def isolated_env(home: Path, ca_cert: str, *, log_file: bool = True) -> dict[str, str]:
    """The environment of an `sf` run with its own home: HOME and the XDG directories point into `home`, so
    nothing reads or writes the user's ~/.sf or ~/.sfdx, and auth files are plain files
    (SF_USE_GENERIC_UNIX_KEYCHAIN) instead of the desktop keychain. It trusts the emulator's CA through
    NODE_EXTRA_CA_CERTS, the way Node is told about an extra root.

    ``log_file=False`` turns off the CLI's own log file (`SF_DISABLE_LOG_FILE`, read by @salesforce/core
    `lib/logger/logger.js`): each command otherwise writes its log under ~/.sf, part of its start-up cost."""
    env = {
        "PATH": f"{NODE.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "NODE_EXTRA_CA_CERTS": ca_cert,
        # Node 22's on-disk compile cache: each CLI start compiles the same few thousand modules; kept beside
        # the installed CLI, it cuts the CPU of every later start by about a fifth (measured).
        "NODE_COMPILE_CACHE": str(NODE_MODULES.parent / ".compile-cache"),
        "SF_DISABLE_TELEMETRY": "true",
        "SF_AUTOUPDATE_DISABLE": "true",
        # What the installed CLI really reads: @oclif/plugin-update's init hook returns early only on
        # scopedEnvVarTrue("DISABLE_AUTOUPDATE"), i.e. SF_DISABLE_AUTOUPDATE; without it every command spawns
        # a detached `sf update --autoupdate` that outlives its caller.
        "SF_DISABLE_AUTOUPDATE": "true",
        "SF_SKIP_NEW_VERSION_CHECK": "true",
        "SF_USE_GENERIC_UNIX_KEYCHAIN": "true",
        "SF_DISABLE_DNS_CHECK": "true",
        "SF_CONTAINER_MODE": "false",
        "SF_LOG_LEVEL": "warn",
        "FORCE_COLOR": "0",
        "LANG": "C.UTF-8",
    }
    if not log_file:
        env["SF_DISABLE_LOG_FILE"] = "true"
    return env
