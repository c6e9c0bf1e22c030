"""The program logging in through the real Salesforce CLI: `sf org login access-token` into an isolated home,
then `up`, `refresh --expect-no-changes` and `destroy` with eci-aircall:targetOrg, the provider asking
`sf org display --target-org <alias> --json` for the session each time it runs (salesforce/sf_cli.py)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from devtools.pulumi_cli.api import run
from devtools.sf_emulator.handle import EmulatorHandle
from tests.acceptance.conftest import NODE, RUN_JS, Sf
from tests.test_component_engine import NS, REPO, STACK


def test_target_org_up_refresh_destroy_through_the_real_sf_cli(
    sf: Sf, sf_org: EmulatorHandle, tmp_path: Path
) -> None:
    sf.login("uat")
    # The provider runs `sf` from PATH; the installed CLI is `node run.js`, so a one-line `sf` in front.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "sf"
    wrapper.write_text(f'#!/bin/sh\nexec "{NODE}" "{RUN_JS}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    env = {**sf.env, "PATH": f"{bin_dir}{os.pathsep}{sf.env['PATH']}{os.pathsep}{os.environ.get('PATH', '')}"}
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
