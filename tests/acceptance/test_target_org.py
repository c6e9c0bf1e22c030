"""The program logging in through the real Salesforce CLI: `sf org login access-token` into an isolated home,
then `up`, `refresh --expect-no-changes` and `destroy` with eci-aircall:targetOrg, the provider asking
`sf org display --target-org <alias> --json` for the session each time it runs (salesforce/sf_cli.py)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from devtools.pulumi_cli.api import run, stack_export
from devtools.sf_emulator.client import EmulatorHandle
from tests.support import REPO
from tests.support.demo_stack import NS, STACK
from tests.support.sf_cli import NODE, RUN_JS, Sf


def _env_with_sf_on_path(sf: Sf, tmp_path: Path) -> dict[str, str]:
    """The provider runs `sf` from PATH; the installed CLI is `node run.js`, so a one-line `sf` in front."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "sf"
    wrapper.write_text(f'#!/bin/sh\nexec "{NODE}" "{RUN_JS}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    path = os.pathsep.join([str(bin_dir), sf.env["PATH"], os.environ.get("PATH", "")])
    return {**sf.env, "PATH": path}


def test_target_org_up_refresh_destroy_through_the_real_sf_cli(
    sf: Sf, sf_org: EmulatorHandle, tmp_path: Path
) -> None:
    sf.login("uat")
    env = _env_with_sf_on_path(sf, tmp_path)
    config = {
        f"{NS}:targetOrg": "uat",
        f"{NS}:caBundle": sf_org.ca_cert,
        f"{NS}:aircallApiUrl": sf_org.aircall_url,
        f"{NS}:aircallApiId": sf_org.aircall_api_id,
    }
    secrets = {f"{NS}:aircallApiToken": sf_org.aircall_api_token}
    state = tmp_path / "state"

    def engine(verb: str, **kw: Any) -> Any:
        return run(verb, stack=STACK, cwd=REPO, state_dir=state, config=config, secrets=secrets, env=env,
                   timeout=600, **kw)  # fmt: skip

    up = engine("up")
    assert up.changes["create"] > 10
    state_text = "".join(p.read_text() for p in state.rglob("*.json"))
    assert sf_org.access_token not in state_text
    engine("refresh", expect_no_changes=True)
    engine("destroy")
    assert sf_org.sf().query("SELECT Id FROM Site WHERE Name = 'VoiceConnector'")["totalSize"] == 0


def test_a_target_org_alias_re_pointed_at_another_org_is_refused_by_every_verb(
    sf: Sf, sf_org: EmulatorHandle, fresh_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """Issue 21, M3 "Done when": `up` through the alias on org A, then the same alias logged in to org B
    (`sf org login` again, as a person would): preview, refresh, up and destroy each refuse, naming both
    orgs, with 0 calls that write in B and the artifacts' state unchanged. `sf org display` names the org
    locally, so the refusal costs B no call either."""
    org_a, org_b = sf_org, fresh_emulator
    both_cas = tmp_path / "both-ca.pem"
    both_cas.write_text(Path(org_a.ca_cert).read_text() + Path(org_b.ca_cert).read_text())
    ca_before = sf.env["NODE_EXTRA_CA_CERTS"]
    sf.env["NODE_EXTRA_CA_CERTS"] = str(both_cas)
    sf.login("bound")
    env = _env_with_sf_on_path(sf, tmp_path)
    config = {
        f"{NS}:targetOrg": "bound",
        f"{NS}:caBundle": str(both_cas),
        f"{NS}:aircallApiUrl": org_a.aircall_url,
        f"{NS}:aircallApiId": org_a.aircall_api_id,
    }
    secrets = {f"{NS}:aircallApiToken": org_a.aircall_api_token}
    state = tmp_path / "state"

    def engine(verb: str, **kw: Any) -> Any:
        return run(verb, stack=STACK, cwd=REPO, state_dir=state, config=config, secrets=secrets, env=env,
                   timeout=600, **kw)  # fmt: skip

    def plain(value: Any) -> Any:
        # A secret is encrypted afresh (new nonce) whenever the engine writes a checkpoint.
        if isinstance(value, dict):
            return "[secret]" if "ciphertext" in value else {k: plain(v) for k, v in value.items()}
        return [plain(v) for v in value] if isinstance(value, list) else value

    def artifacts() -> list[Any]:
        deployment = stack_export(stack=STACK, cwd=REPO, state_dir=state, env=env)["deployment"]
        return sorted(
            (r["urn"], json.dumps(plain(r.get("outputs")), sort_keys=True))
            for r in deployment.get("resources") or []
            if "pulumi-python:dynamic" in r["urn"]
        )

    engine("up")
    id_a = org_a.sf().query("SELECT Id FROM Organization")["records"][0]["Id"]
    id_b = org_b.sf().query("SELECT Id FROM Organization")["records"][0]["Id"]
    before = artifacts()
    try:
        Sf(sf.home, org_b).__call__(  # the alias now names org B
            "org", "login", "access-token", "--instance-url", org_b.instance_url, "--alias", "bound",
            "--no-prompt", SF_ACCESS_TOKEN=org_b.access_token, NODE_EXTRA_CA_CERTS=str(both_cas),
        )  # fmt: skip
        org_b.reset_calls()
        for verb, extra in (("preview", []), ("refresh", ["--run-program"]), ("up", []),
                            ("destroy", ["--run-program"])):  # fmt: skip
            result = engine(verb, check=False, extra_args=extra)
            assert result.returncode != 0, verb
            text = result.text
            assert "ORG_MISMATCH" in text and id_a[:15] in text and id_b[:15] in text, verb
            assert org_b.calls()["writes"] == 0, verb
            assert artifacts() == before, verb
    finally:
        sf.login("bound")  # back to A, so the stack can be removed
        engine("destroy")
        sf.env["NODE_EXTRA_CA_CERTS"] = ca_before
