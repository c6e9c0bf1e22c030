"""`make audit`: an advisory vulnerability audit of the locked dependencies (pip-audit), where its data can be
reached.

pip-audit asks a vulnerability service about every pinned package: by default PyPI's JSON API
(``https://pypi.org/pypi/<name>/<version>/json``, its ``vulnerabilities`` field, fed by the OSV database;
pip-audit README, "--vulnerability-service"). Many build machines cannot reach it. So this first checks that
the service answers; when it does not, it says so plainly — the dependencies were NOT audited, and why — and
exits 0, so a sandboxed CI run is not failed for a reason that has nothing to do with the code. When it
answers, pip-audit audits both lock files (``--require-hashes``: exactly what the Makefile installs) and its
exit code is this command's (1 when a known vulnerability is found).

pip-audit itself is not in the project's lock files (it is not needed to build, test or run the stack): it has
its own, ``requirements-audit.lock`` (pinned with hashes by ``make lock``), installed into ``.tools/audit``
with ``--require-hashes`` on first use and again whenever that lock changes. Never an unpinned install.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import venv
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
LOCKS = ("requirements.lock", "requirements-dev.lock")
TOOLS = REPO / ".tools" / "audit"
AUDIT_LOCK = REPO / "requirements-audit.lock"


def probe_url() -> str:
    """The per-release JSON of the first locked package: the very request pip-audit makes for each one (a
    mirror may serve the project index but not these, and pip-audit then only says "not found")."""
    match = re.search(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)", (REPO / LOCKS[0]).read_text(), re.MULTILINE)
    name, version = match.groups() if match else ("pip", "24.0")
    return f"https://pypi.org/pypi/{name}/{version}/json"


def service_reachable(url: str, timeout: float = 10.0) -> str | None:
    """None when the vulnerability service answers with vulnerability data, else why not (one line)."""
    try:
        response = requests.get(url, timeout=timeout)
    except requests.RequestException as exc:
        return f"{type(exc).__name__} reaching {url}"
    if response.status_code != 200:
        return f"{url} answered HTTP {response.status_code}"
    try:
        has_data = "vulnerabilities" in response.json()
    except ValueError:
        has_data = False
    return None if has_data else f"{url} answered without vulnerability data"


def install_command(python: Path, lock: Path = AUDIT_LOCK) -> list[str]:
    """pip install of exactly what ``lock`` pins: every file checked against its sha256 (pip refuses a
    package without a hash, or one whose hash differs), no dependency resolved beyond the lock."""
    return [str(python), "-m", "pip", "install", "--quiet", "--require-hashes", "--no-deps", "-r", str(lock)]


def pip_audit_command(tools: Path = TOOLS, lock: Path = AUDIT_LOCK) -> list[str]:
    """How to run pip-audit: a private venv's, installed from ``lock`` with hashes (again when it changes)."""
    python = tools / "bin" / "python"
    stamp = tools / ".installed"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not python.exists() or not stamp.exists() or stamp.read_text().strip() != digest:
        if not python.exists():
            venv.create(tools, with_pip=True)
        subprocess.run(install_command(python, lock), check=True)
        stamp.write_text(digest + "\n")
    return [str(python), "-m", "pip_audit"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m devtools.audit", description=__doc__.splitlines()[0])
    ap.add_argument("--probe-url", default=None, help="where to check the vulnerability service")
    args = ap.parse_args(argv)
    why = service_reachable(args.probe_url or probe_url())
    if why is not None:
        print(
            f"audit: NOT RUN — the vulnerability database cannot be reached from here ({why}). The "
            f"dependencies in {' and '.join(LOCKS)} were not checked for known vulnerabilities; run "
            "`make audit` where https://pypi.org is reachable.",
            flush=True,
        )
        return 0
    command = pip_audit_command()
    code = 0
    for lock in LOCKS:
        print(f"audit: {lock}", flush=True)
        # --disable-pip: audit the pins as locked (with their hashes) without resolving them again.
        run = [*command, "--requirement", str(REPO / lock), "--require-hashes", "--disable-pip"]
        run += ["--progress-spinner", "off"]
        code = max(code, subprocess.run(run, check=False).returncode)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
