"""`targetOrg`: how the provider runs the Salesforce CLI (salesforce/sf_cli.py), with a stand-in `sf` on PATH
that records what it was started with and answers as Salesforce CLI 2.150 does (the answers' shape is
checked against the real CLI in tests/acceptance/test_target_org.py)."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from providers.config.keys import TARGET_ORG
from salesforce import ConfigurationError, sf_cli

TOKEN = "00Dxx!SessionFromTheCli-Qq42"


def fake_sf(tmp_path: Path, instance_url: str) -> Path:
    """An `sf` that writes its environment to env.json and answers `org display` with ``instance_url``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "sf"
    display = {"status": 0, "result": {"id": "00D000000000001EAA", "instanceUrl": instance_url,
                                       "accessToken": "[REDACTED]", "alias": "uat"}}  # fmt: skip
    show = {"status": 0, "result": {"accessToken": TOKEN}}
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"open({str(tmp_path / 'env.json')!r}, 'w').write(json.dumps(dict(os.environ)))\n"
        f"open({str(tmp_path / 'calls.jsonl')!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        f"print(json.dumps({show!r} if 'show-access-token' in sys.argv else {display!r}))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def calls(tmp_path: Path) -> list[list[str]]:
    log = tmp_path / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_sf_gets_only_the_allow_listed_environment_with_telemetry_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = fake_sf(tmp_path, "https://acme.my.salesforce.com")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    # What a provider process holds besides: the stack's passphrase, the decrypted stack config, cloud keys.
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "stack-passphrase-Zz11")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"eci-aircall:aircallApiToken": "aircall-token-Yy22"}))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-Xx33")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NODE_EXTRA_CA_CERTS", "/etc/ca.pem")
    monkeypatch.setenv("SF_USE_GENERIC_UNIX_KEYCHAIN", "true")
    monkeypatch.setenv("SFDX_DISABLE_TELEMETRY", "false")

    assert sf_cli.org_display("uat", TARGET_ORG) == (TOKEN, "https://acme.my.salesforce.com")

    env = json.loads((tmp_path / "env.json").read_text())
    text = json.dumps(env)
    for secret in ("stack-passphrase-Zz11", "aircall-token-Yy22", "aws-secret-Xx33"):
        assert secret not in text
    assert not {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG", "AWS_SECRET_ACCESS_KEY"} & set(env)
    assert env["HTTPS_PROXY"] == "http://proxy.example:3128" and env["NODE_EXTRA_CA_CERTS"] == "/etc/ca.pem"
    assert env["SF_USE_GENERIC_UNIX_KEYCHAIN"] == "true" and env["PATH"].startswith(str(bin_dir))
    assert env["SF_DISABLE_TELEMETRY"] == "true" and env["SFDX_DISABLE_TELEMETRY"] == "true"


def test_an_http_instance_url_from_sf_is_refused_before_the_token_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = fake_sf(tmp_path, "http://acme.my.salesforce.com")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    with pytest.raises(ConfigurationError) as info:
        sf_cli.org_display("uat", TARGET_ORG)
    text = str(info.value)
    assert "eci-aircall:targetOrg" in text and "http://" in text and "sf org login web --alias uat" in text
    assert calls(tmp_path) == [["org", "display", "--target-org", "uat", "--json"]]  # no token fetched
    assert TOKEN not in text


def test_http_to_loopback_stays_allowed_for_local_emulators(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = fake_sf(tmp_path, "http://127.0.0.1:8443")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    assert sf_cli.org_display("uat", TARGET_ORG) == (TOKEN, "http://127.0.0.1:8443")


def test_the_cli_login_names_the_org_without_a_call_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = fake_sf(tmp_path, "https://acme.my.salesforce.com")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    login = sf_cli.org_login("uat", TARGET_ORG)
    assert login == (TOKEN, "https://acme.my.salesforce.com", "00D000000000001EAA")
