"""`make demo`: the whole story on a local Salesforce org emulator, printed step by step.

    preview → up → health outputs (ECI_Named_Credential not yet authorized) → the integration user authorizes
    it (the one manual step, done by the emulator's control) and an admin changes the site in Setup (out of
    band) → refresh shows both: the drift and the health change → preview shows the fix → up restores it
    (and its outputs show the step done) → preview --expect-no-changes

Uses the real `pulumi` CLI (file backend under .demo/, passphrase secrets) when it is on PATH, the local
engine (`python -m devtools.engine`) otherwise; `--engine local|pulumi` forces one. Every run starts from a
fresh emulator org and a fresh stack state, so it can be run again and again.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests
import yaml
from simple_salesforce import Salesforce
from zeep.transports import Transport

from providers import guide
from salesforce.settings import CONFIG_NAMESPACE

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / ".demo"
STACK = "demo"
NS = CONFIG_NAMESPACE
SITE = guide.SITE_NAME
# The drift the demo introduces: an admin relaxes the site's clickjack protection in Setup, away from the
# guide's "Allow framing by the same origin only (Recommended)".
DRIFTED_CLICKJACK = "AllowAllFraming"
PASSPHRASE = "eci-aircall-demo"  # protects only the throw-away demo state under .demo/


def say(text: str) -> None:
    bold, plain = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")
    print(f"\n{bold}==> {text}{plain}", flush=True)


class Emulator:
    """The emulator as a child process (`python -m devtools.sf_emulator serve`), its JSON line parsed."""

    def __init__(self, state_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "devtools.sf_emulator",
                "serve",
                "--state-dir",
                str(state_dir),
                "--port",
                "0",
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=10)
            raise SystemExit(f"demo: the emulator did not start (exit code {self.proc.returncode})")
        self.info: dict[str, Any] = json.loads(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def salesforce(self) -> Salesforce:
        """simple-salesforce logged in as the org's admin, as someone working in Setup would be."""
        session = requests.Session()
        session.verify = self.info["ca_cert"]
        # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment would override verify (psf/requests#3829).
        session.trust_env = False
        sf = Salesforce(
            instance_url=self.info["instance_url"],
            session_id=self.info["access_token"],
            session=session,
            version="63.0",
        )
        # simple-salesforce's Metadata client builds its zeep transport on a session of its own (verifying
        # against the system CAs): give it the one that trusts the emulator's CA.
        sf.mdapi._client.transport = Transport(session=session)
        return sf


class Runner:
    """Runs a Pulumi verb through the real CLI or the local engine, streaming its output."""

    def __init__(self, engine: str, emulator: Emulator) -> None:
        self.engine = engine
        info = emulator.info
        self.config = {
            f"{NS}:instanceUrl": info["instance_url"],
            f"{NS}:caBundle": info["ca_cert"],
            f"{NS}:aircallApiUrl": info["aircall_url"],
            f"{NS}:aircallApiId": info["aircall_api_id"],
            # The Aircall named credential points at the emulator's fake Aircall, so the health probe's
            # callout from inside the org reaches it.
            f"{NS}:aircallEndpoint": f"{info['instance_url']}/aircall/",
        }
        self.secrets = {
            f"{NS}:accessToken": info["access_token"],
            f"{NS}:aircallApiToken": info["aircall_api_token"],
        }
        self.env = dict(os.environ)
        self.env.setdefault("PULUMI_CONFIG_PASSPHRASE", PASSPHRASE)
        self.env["PULUMI_BACKEND_URL"] = f"file://{DEMO / 'state'}"
        self.env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
        self.cwd = REPO
        if engine == "pulumi":
            self._prepare_cli_stack()

    def _prepare_cli_stack(self) -> None:
        # `pulumi stack init` and `pulumi config set` write the stack file (encryption salt, secure values),
        # and the connection only exists while the emulator runs: so the CLI works on a copy of the program
        # under .demo/project, leaving the committed stacks/Pulumi.demo.yaml untouched.
        project = DEMO / "project"
        project.mkdir(parents=True)
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copyfile(REPO / name, project / name)
        for name in ("components", "providers", "salesforce"):
            shutil.copytree(REPO / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        (project / "stacks").mkdir()
        shutil.copyfile(REPO / "stacks" / f"Pulumi.{STACK}.yaml", project / "stacks" / f"Pulumi.{STACK}.yaml")
        (project / ".venv").symlink_to(REPO / ".venv")  # Pulumi.yaml: runtime.options.virtualenv: .venv
        self.cwd = project
        (DEMO / "state").mkdir(parents=True, exist_ok=True)
        self._pulumi(["stack", "init", STACK, "--secrets-provider", "passphrase"], echo=False)
        for key, value in self.config.items():
            self._pulumi(["config", "set", "--stack", STACK, key, value], echo=False)
        for key, value in self.secrets.items():
            # The value on stdin, never in argv (`ps` shows every process's argv): `pulumi config set` reads
            # stdin when the value is left out (pulumi/pulumi pkg/cmd/pulumi/config/config.go,
            # configSetCmd.Run).
            self._pulumi(["config", "set", "--stack", STACK, "--secret", key], echo=False, stdin=value)

    def _pulumi(self, args: Sequence[str], *, echo: bool = True, stdin: str | None = None) -> int:
        proc = subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=self.cwd,
            env=self.env,
            text=True,
            input=stdin,
            capture_output=not echo,
        )
        if proc.returncode != 0 and not echo:
            raise SystemExit(f"demo: `pulumi {' '.join(args[:2])}` failed:\n{proc.stderr}")
        return proc.returncode

    def run(self, verb: str, *, expect_no_changes: bool = False) -> int:
        if self.engine == "pulumi":
            args = [verb, "--stack", STACK]
            if verb != "preview":
                args += ["--yes", "--skip-preview"]
            if expect_no_changes:
                args.append("--expect-no-changes")
            return self._pulumi(args)
        cmd = [
            sys.executable,
            "-m",
            "devtools.engine",
            verb,
            "--stack",
            STACK,
            "--cwd",
            str(REPO),
            "--state-dir",
            str(DEMO / "state"),
        ]
        for key, value in self.config.items():
            cmd += ["-c", f"{key}={value}"]
        env = dict(self.env)
        for n, (key, value) in enumerate(self.secrets.items()):
            env[f"ECI_DEMO_SECRET_{n}"] = value  # through the environment, never argv
            cmd += ["--secret-env", f"{key}=ECI_DEMO_SECRET_{n}"]
        if expect_no_changes:
            cmd.append("--expect-no-changes")
        return subprocess.run(cmd, cwd=REPO, env=env).returncode

    def outputs(self) -> dict[str, Any]:
        """The stack's outputs, from `stack export` (both the CLI and the local engine have it)."""
        if self.engine == "pulumi":
            cmd = ["pulumi", "stack", "export", "--stack", STACK, "--non-interactive"]
            cwd = self.cwd
        else:
            cmd = [sys.executable, "-m", "devtools.engine", "stack", "export", "--stack", STACK]
            cmd += ["--cwd", str(REPO), "--state-dir", str(DEMO / "state")]
            cwd = REPO
        proc = subprocess.run(cmd, cwd=cwd, env=self.env, text=True, capture_output=True, check=True)
        resources = json.loads(proc.stdout)["deployment"]["resources"]
        stack = next(r for r in resources if r["type"] == "pulumi:pulumi:Stack")
        return dict(stack.get("outputs") or {})


def show_health(runner: Runner) -> int:
    """`pulumi stack output health` / `nextManualStep`, measured by callouts from the org."""
    outputs = runner.outputs()
    for name in ("health", "nextManualStep"):
        print(f"    {name}: {json.dumps(outputs.get(name), indent=2)}".replace("\n", "\n    "))
    return 0


def authorize_in_browser(emulator: Emulator) -> str:
    """The guide's manual step (log in as the integration user, click Authorize): the emulator's control."""
    session = requests.Session()
    session.verify, session.trust_env = emulator.info["ca_cert"], False
    username = demo_integration_username()
    r = session.post(
        f"{emulator.info['instance_url']}/__emulator/named-credentials/{guide.ECI_NAMED_CREDENTIAL}/authorize",
        json={"username": username},
        headers={"Authorization": f"Bearer {emulator.info['access_token']}"},
        timeout=30,
    )
    r.raise_for_status()
    return f"{guide.ECI_NAMED_CREDENTIAL}: authorized as {username}"


def demo_integration_username() -> str:
    stack = yaml.safe_load((REPO / "stacks" / f"Pulumi.{STACK}.yaml").read_text())["config"]
    return str(stack[f"{NS}:integrationUser"]["username"])


def change_site_in_setup(sf: Salesforce) -> str:
    """What an admin does in Setup > Sites > Edit: a Metadata API read-modify-write of the site."""
    site: Any = sf.mdapi.CustomSite.read([SITE])
    before = str(site.clickjackProtectionLevel)
    site.clickjackProtectionLevel = DRIFTED_CLICKJACK
    sf.mdapi.CustomSite.update(site)
    after: Any = sf.mdapi.CustomSite.read([SITE])
    after = after.clickjackProtectionLevel
    return f"CustomSite {SITE}: clickjackProtectionLevel {before} -> {after}"


def show_callback_wiring(emulator: Emulator) -> int:
    """The guide's dummy-URL round trip done by data flow: the app calls back to the auth provider."""
    app: Any = emulator.salesforce().mdapi.ConnectedApp.read([guide.CONNECTED_APP_NAME])
    expected = f"{emulator.info['instance_url']}/services/authcallback/{guide.AUTH_PROVIDER_NAME}"
    print(f"    {guide.CONNECTED_APP_NAME} callbackUrl: {app.oauthConfig.callbackUrl}")
    print(f"    {guide.AUTH_PROVIDER_NAME} callback URL: {expected}")
    return 0 if app.oauthConfig.callbackUrl == expected else 1


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m devtools.demo", description=__doc__.splitlines()[0])
    ap.add_argument("--engine", choices=("auto", "pulumi", "local"), default="auto")
    args = ap.parse_args(argv)
    engine = args.engine
    if engine == "auto":
        engine = "pulumi" if shutil.which("pulumi") else "local"

    started = time.monotonic()
    shutil.rmtree(DEMO, ignore_errors=True)  # a fresh org and stack every run: re-runnable by construction
    DEMO.mkdir(parents=True)
    say("Starting the Salesforce org emulator (python -m devtools.sf_emulator serve --state-dir .demo/org)")
    emulator = Emulator(DEMO / "org")
    print(f"    org: {emulator.info['instance_url']}  (admin {emulator.info['username']})")
    where = "the real pulumi CLI, file backend .demo/state" if engine == "pulumi" else "the local engine"
    print(
        f"    engine: {where} ({'pulumi is on PATH' if shutil.which('pulumi') else 'pulumi is not on PATH'})"
    )
    try:
        runner = Runner(engine, emulator)
        steps: list[tuple[str, Any]] = [
            (
                "1/10 pulumi preview: what a fresh org needs",
                lambda: runner.run("preview"),
            ),
            ("2/10 pulumi up: configure the org", lambda: runner.run("up")),
            (
                "3/10 No dummy callback URL: the connected app calls back to the auth provider from the "
                "start",
                lambda: show_callback_wiring(emulator),
            ),
            (
                "4/10 Health, measured from inside the org: Aircall works, ECI_Named_Credential is not "
                "authorized yet",
                lambda: show_health(runner),
            ),
            (
                "5/10 Out of band: the integration user authorizes ECI_Named_Credential (the one manual "
                "step), and an admin edits the site in Setup",
                lambda: _print(
                    authorize_in_browser(emulator) + "\n    " + change_site_in_setup(emulator.salesforce())
                ),
            ),
            ("6/10 pulumi refresh: the drift and the health change show up", lambda: runner.run("refresh")),
            ("7/10 pulumi preview: the fix that up will apply", lambda: runner.run("preview")),
            ("8/10 pulumi up: back to the guide's settings", lambda: runner.run("up")),
            (
                # Stack outputs are the program's: refresh updates the resources, the next up the outputs.
                "9/10 Health after the authorize step (the up's outputs): the manual step is done",
                lambda: show_health(runner),
            ),
            (
                "10/10 pulumi preview --expect-no-changes: converged",
                lambda: runner.run("preview", expect_no_changes=True),
            ),
        ]
        for title, action in steps:
            say(title)
            code = action()
            if code:
                say(f"demo FAILED at step {title.split()[0]} (exit code {code})")
                return code
        say(f"demo OK in {time.monotonic() - started:.0f}s.")
        return 0
    finally:
        emulator.stop()


def _print(text: str) -> int:
    print(f"    {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
