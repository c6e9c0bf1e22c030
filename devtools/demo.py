"""`make demo`: the whole story on a local Salesforce org emulator, printed step by step.

    preview → up → health outputs (ECI_Named_Credential not yet authorized) → the integration user authorizes
    it (the one manual step, done by the emulator's control) and an admin changes the site in Setup (out of
    band) → refresh shows both: the drift and the health change → preview shows the fix → up restores it
    (and its outputs show the step done) → preview --expect-no-changes

Runs the real `pulumi` CLI (`ECI_PULUMI`, which `make demo` sets from `make pulumi`, else `pulumi` on PATH)
on a file backend under .demo/ with passphrase secrets, through devtools/pulumi_cli. Every run starts from a
fresh emulator org and a fresh stack state, so it can be run again and again.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
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

from devtools.pulumi_cli import api
from providers import guide
from providers.config.keys import NAMESPACE

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / ".demo"
STATE = DEMO / "state"
STACK = "demo"
NS = NAMESPACE
SITE = guide.SITE_NAME
# The drift the demo introduces: an admin relaxes the site's clickjack protection in Setup, away from the
# guide's "Allow framing by the same origin only (Recommended)".
DRIFTED_CLICKJACK = "AllowAllFraming"


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
    """Runs a Pulumi verb through the real CLI (devtools/pulumi_cli), its output streamed to the terminal."""

    def __init__(self, emulator: Emulator) -> None:
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
        # Secrets reach `pulumi config set --secret` on stdin (api.prepare), never argv.
        self.secrets = {
            f"{NS}:accessToken": info["access_token"],
            f"{NS}:aircallApiToken": info["aircall_api_token"],
        }
        # A passphrase of this run's own for the throw-away state: none written in the code or on disk.
        passphrase = os.environ.get("PULUMI_CONFIG_PASSPHRASE") or secrets.token_urlsafe(24)
        self.env = {"PULUMI_CONFIG_PASSPHRASE": passphrase}
        # The CLI saves config into the stack file and the connection only exists while the emulator runs:
        # it works on a copy of the project under .demo/state, leaving stacks/Pulumi.demo.yaml as committed.
        api.prepare(
            stack=STACK, cwd=REPO, state_dir=STATE, config=self.config, secrets=self.secrets, env=self.env
        )

    def run(self, verb: str, *, expect_no_changes: bool = False) -> int:
        return api.run(
            verb, stack=STACK, cwd=REPO, state_dir=STATE, config=self.config, secrets=self.secrets,
            expect_no_changes=expect_no_changes, env=self.env, check=False, json_output=False, stream=True,
        ).returncode  # fmt: skip

    def outputs(self) -> dict[str, Any]:
        """The stack's outputs, from `pulumi stack export` (secrets stay encrypted)."""
        resources = api.stack_export(stack=STACK, cwd=REPO, state_dir=STATE, env=self.env)["deployment"]
        stack = next(r for r in resources["resources"] if r["type"] == "pulumi:pulumi:Stack")
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
    ap.parse_args(argv)
    # .demo/ holds the emulator's database (with its admin token) and the stack state: this user's only.
    os.umask(0o077)
    started = time.monotonic()
    shutil.rmtree(DEMO, ignore_errors=True)  # a fresh org and stack every run: re-runnable by construction
    DEMO.mkdir(parents=True)
    say("Starting the Salesforce org emulator (python -m devtools.sf_emulator serve --state-dir .demo/org)")
    emulator = Emulator(DEMO / "org")
    print(f"    org: {emulator.info['instance_url']}  (admin {emulator.info['username']})")
    pulumi = api.pulumi_binary()
    version = subprocess.run([pulumi, "version"], capture_output=True, text=True, check=False).stdout.strip()
    print(f"    engine: the real pulumi CLI {version} ({pulumi}), file backend .demo/state")
    try:
        runner = Runner(emulator)
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
