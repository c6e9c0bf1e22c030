"""Rotated credentials under the real engine's rule for `refresh` and `destroy`, against the org emulator.

Without `--run-program` the real CLI configures the provider for `refresh` and `destroy` from the config saved
in state with the default provider at the last `up` (pulumi/pulumi pkg/resource/deploy/providers/registry.go;
pkg/cmd/pulumi/operations/refresh.go and destroy.go, flag `--run-program`); the local engine does the same
(tests/engine/test_engine_steps.py). An access token pasted into the config therefore goes stale in state,
while `targetOrg` keeps no credential there: the provider asks the Salesforce CLI for a session when it runs.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

from devtools.pulumi_cli.api import run
from devtools.sf_emulator.client import EmulatorHandle
from tests.support import REPO
from tests.support.demo_stack import NS, STACK


def _fresh_token(org: EmulatorHandle) -> str:
    """A new session for the admin, as `sf` gets one (refresh-token grant of its PlatformCLI client)."""
    grant = {"grant_type": "refresh_token", "client_id": "PlatformCLI", "refresh_token": org.refresh_token()}
    reply = org.session().post(f"{org.instance_url}/services/oauth2/token", data=grant, timeout=30)
    reply.raise_for_status()
    return str(reply.json()["access_token"])


def _revoke(org: EmulatorHandle, token: str) -> None:
    # Salesforce Help, "Revoke OAuth Tokens": POST /services/oauth2/revoke, token=<access token>.
    org.session().post(f"{org.instance_url}/services/oauth2/revoke", data={"token": token}, timeout=30)


def _base_config(org: EmulatorHandle) -> tuple[dict[str, str], dict[str, str]]:
    config = {
        f"{NS}:caBundle": org.ca_cert,
        f"{NS}:aircallApiUrl": org.aircall_url,
        f"{NS}:aircallApiId": org.aircall_api_id,
    }
    return config, {f"{NS}:aircallApiToken": org.aircall_api_token}


class FakeSf:
    """An `sf` executable on PATH that answers as Salesforce CLI 2.150 does (checked with the real CLI in
    tests/acceptance/test_target_org.py): `sf org display --target-org <alias> --json` gives
    `{"status": 0, "result": {"id", "apiVersion", "accessToken", "instanceUrl", "username", "connectedStatus",
    "alias"}}` with the token hidden ("Secrets are now hidden from 'sf org display' command output"), and
    `sf org auth show-access-token --target-org <alias> --json` gives `{"result": {"accessToken"}}`. The
    answers come from a file the test rewrites when it "renews" the session; every invocation is logged."""

    def __init__(self, root: Path, org: EmulatorHandle) -> None:
        self.bin = root / "bin"
        self.bin.mkdir()
        self.answer = root / "sf-answer.json"
        self.log = root / "sf-calls.jsonl"
        self.org = org
        script = self.bin / "sf"
        script.write_text(
            f"#!{sys.executable}\n"
            "import json, sys\n"
            f"open({str(self.log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
            f"answers = json.load(open({str(self.answer)!r}))\n"
            "key = 'show-access-token' if 'show-access-token' in sys.argv else 'display'\n"
            "print(json.dumps(answers[key]))\n"
            "sys.exit(answers[key].get('status', 0))\n"
        )
        script.chmod(script.stat().st_mode | stat.S_IEXEC)

    def login(self, token: str) -> None:
        # result.id is the Organization Id of the login: the emulator org's own (each org has its own).
        org_id = self.org.sf().query("SELECT Id FROM Organization")["records"][0]["Id"]
        self.answers({"status": 0, "result": {
            "id": org_id, "apiVersion": "63.0", "accessToken": "[REDACTED - use sf org auth]",
            "instanceUrl": self.org.instance_url + "/", "username": self.org.username,
            "connectedStatus": "Connected", "alias": "uat"},
            "warnings": ["Secrets are now hidden from 'sf org display' command output."]},
            {"status": 0, "result": {"accessToken": token}})  # fmt: skip

    def answers(self, display: dict[str, Any], show_token: dict[str, Any] | None = None) -> None:
        self.answer.write_text(json.dumps({"display": display, "show-access-token": show_token or display}))

    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []

    def env(self) -> dict[str, str]:
        return {"PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}"}


def test_target_org_survives_a_rotated_token_in_refresh_and_destroy(
    org: EmulatorHandle, tmp_path: Path
) -> None:
    sf = FakeSf(tmp_path, org)
    first = _fresh_token(org)
    sf.login(first)
    config, secrets = _base_config(org)
    config[f"{NS}:targetOrg"] = "uat"
    state = tmp_path / "state"

    def engine(verb: str, **kw: Any) -> Any:
        return run(verb, stack=STACK, cwd=REPO, state_dir=state, config=config, secrets=secrets, env=sf.env(),
                   **kw)  # fmt: skip

    engine("up")
    state_text = "".join(p.read_text() for p in state.rglob("*.json"))
    assert first not in state_text  # no credential rides in state (the pickled providers are ciphertext too)
    assert sf.calls()[:2] == [
        ["org", "display", "--target-org", "uat", "--json"],
        ["org", "auth", "show-access-token", "--target-org", "uat", "--json"],
    ]

    _revoke(org, first)  # the session ends, as after its 2 hours; the CLI renews its own
    sf.login(_fresh_token(org))
    engine("refresh", expect_no_changes=True)
    engine("destroy")
    assert org.sf().query("SELECT Id FROM Site WHERE Name = 'VoiceConnector'")["totalSize"] == 0


def test_a_rotated_access_token_needs_run_program_and_the_error_says_so(
    org: EmulatorHandle, tmp_path: Path
) -> None:
    config, secrets = _base_config(org)
    config[f"{NS}:instanceUrl"] = org.instance_url
    first = _fresh_token(org)
    state = tmp_path / "state"

    def engine(verb: str, token: str, *extra: str, **kw: Any) -> Any:
        return run(verb, stack=STACK, cwd=REPO, state_dir=state, config=config,
                   secrets={**secrets, f"{NS}:accessToken": token}, extra_args=list(extra), **kw)  # fmt: skip

    engine("up", first)
    _revoke(org, first)
    second = _fresh_token(org)
    for verb in ("refresh", "destroy"):
        stale = engine(verb, second, check=False)
        assert stale.returncode != 0
        text = stale.stdout + stale.stderr
        assert "INVALID_SESSION_ID" in text and f"pulumi {verb} --run-program" in text
        assert second not in text and first not in text
        # Issue 23: one message per resource, no traceback, and the fix given once in the whole run.
        errors = [e["message"] for e in stale.data["resource_errors"]]
        assert errors and "Traceback" not in stale.text
        assert sum(f"pulumi {verb} --run-program" in e for e in errors) == 1, errors
        assert all(len(e.strip().splitlines()) == 1 and "INVALID_SESSION_ID" in e for e in errors), errors
    engine("refresh", second, "--run-program", expect_no_changes=True)
    engine("destroy", second, "--run-program")
    assert org.sf().query("SELECT Id FROM Site WHERE Name = 'VoiceConnector'")["totalSize"] == 0


def test_target_org_without_a_cli_login_names_the_login_command(org: EmulatorHandle, tmp_path: Path) -> None:
    sf = FakeSf(tmp_path, org)
    # The CLI's JSON error for an alias it has no login for (status 1, name, message).
    message = "No authorization information found for uat."
    answer = {"status": 1, "name": "NoAuthInfoFoundError", "message": message}
    sf.answers(answer)
    config, secrets = _base_config(org)
    config[f"{NS}:targetOrg"] = "uat"
    res = run("up", stack=STACK, cwd=REPO, state_dir=tmp_path / "state", config=config, secrets=secrets,
              env=sf.env(), check=False)  # fmt: skip
    text = res.stdout + res.stderr
    assert res.returncode != 0
    assert message in text and "sf org login web --alias uat" in text


def test_destroy_with_run_program_runs_the_config_check_and_plain_destroy_uses_the_config_in_state(
    org: EmulatorHandle, tmp_path: Path
) -> None:
    """`--run-program` runs the program (pkg/cmd/pulumi/operations/destroy.go), so its config check gates
    the destroy: with a key removed since the last `up` it stops with the fix and deletes nothing. A plain
    `destroy` configures the providers from the config saved in state at that `up`, and goes through."""
    config, secrets = _base_config(org)
    config[f"{NS}:instanceUrl"] = org.instance_url
    secrets[f"{NS}:accessToken"] = org.access_token
    run("up", stack=STACK, cwd=REPO, state_dir=tmp_path, config=config, secrets=secrets)
    before = org.calls()["writes"]
    del config[f"{NS}:aircallApiId"]
    gated = run(
        "destroy", stack=STACK, cwd=REPO, state_dir=tmp_path, config=config, secrets=secrets, check=False,
        extra_args=["--run-program"],
    )  # fmt: skip
    assert gated.returncode != 0
    assert f"{NS}:aircallApiId is not set" in gated.text and "pulumi config set" in gated.text
    assert "Traceback" not in gated.text
    assert org.calls()["writes"] == before
    done = run("destroy", stack=STACK, cwd=REPO, state_dir=tmp_path, config=config, secrets=secrets)
    assert done.changes["delete"] > 0
    assert (
        org.sf().query("SELECT COUNT() FROM NamedCredential WHERE DeveloperName = 'Aircall'")["totalSize"]
        == 0
    )
