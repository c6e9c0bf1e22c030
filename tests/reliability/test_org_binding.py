"""A stack is bound to its org (issue 21, M3): the org's Id is recorded when the stack first touches it, and
every later preview, refresh, up and destroy whose login reaches another org refuses before reading or
writing anything there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devtools.sf_emulator.client import EmulatorHandle
from tests.support.reliability import Stack, error_text


def _org_id(org: EmulatorHandle) -> str:
    return str(org.sf().query("SELECT Id FROM Organization")["records"][0]["Id"])


def _plain(value: Any) -> Any:
    """Outputs with each secret as a marker: the engine encrypts a secret afresh (new nonce) whenever it
    writes a checkpoint, so its ciphertext changes while its value does not."""
    if isinstance(value, dict):
        if "ciphertext" in value:
            return "[secret]"
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _resources(stack: Stack) -> list[tuple[str, Any, Any]]:
    """The artifacts' state. (The engine's record of the provider's config is not among them: a run of the
    program records the config it ran with, here org B's login.)"""
    deployment = stack.export().get("deployment", {})
    return sorted(
        (str(r["urn"]), _plain(r.get("inputs")), _plain(r.get("outputs")))
        for r in deployment.get("resources") or []
        if "pulumi-python:dynamic" in str(r["urn"])
    )


def test_a_stack_re_pointed_at_another_org_refuses_every_verb(
    org: EmulatorHandle, fresh_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """Done when (issue 21): up on org A, the login re-pointed at org B (instanceUrl + accessToken), then
    preview, refresh, up and destroy each refuse, naming both orgs, with 0 writes in B and the state as it
    was. refresh and destroy run the program (`--run-program`), as the README says to after changing the
    login: otherwise they would use the login saved at the last up, which is A's."""
    org_a, org_b = org, fresh_emulator
    id_a, id_b = _org_id(org_a), _org_id(org_b)
    assert id_a != id_b
    stack = Stack(org_a, tmp_path / "state")
    stack.run("up")
    bound = [o["org"] for urn, _, o in _resources(stack) if "pulumi-python:dynamic" in urn]
    assert bound and all(o["id"] == id_a and o["instance_url"] == org_a.instance_url for o in bound)
    assert any(o.get("sandbox") is True for o in bound)  # Preflight read Organization.IsSandbox
    before = _resources(stack)

    both_cas = tmp_path / "both-ca.pem"
    both_cas.write_text(Path(org_a.ca_cert).read_text() + Path(org_b.ca_cert).read_text())
    stack.overrides = {
        "instanceUrl": org_b.instance_url,
        "accessToken": org_b.access_token,
        "caBundle": str(both_cas),
    }
    org_a.reset_calls()
    org_b.reset_calls()
    for verb, extra in (
        ("preview", []),
        ("refresh", ["--run-program"]),
        ("up", []),
        ("destroy", ["--run-program"]),
    ):
        result = stack.run(verb, check=False, extra_args=extra)
        text = error_text(result)
        assert result.returncode != 0, verb
        assert "ORG_MISMATCH" in text and id_a in text and id_b[:15] in text, (verb, text[-2000:])
        assert "pulumi stack init" in text, verb
        # The access token names its org: the refusal costs no call at all, in either org.
        assert org_b.calls()["writes"] == 0 and org_b.calls()["total"] == 0, (verb, org_b.calls())
        assert org_a.calls()["writes"] == 0, verb
        assert _resources(stack) == before, verb
