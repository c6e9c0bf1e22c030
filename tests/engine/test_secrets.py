"""Passphrase secrets exactly as the Pulumi CLI does them (pkg/secrets/passphrase, config/crypt.go)."""

from __future__ import annotations

import base64

import pytest

from devtools.engine.project import Project, load_stack_config, set_stack_config
from devtools.engine.secrets import PassphraseError, PassphraseSecretsManager, read_passphrase

# Known-answer state from pulumi/pulumi pkg/secrets/passphrase/manager_test.go: passphrase "password".
PULUMI_TEST_STATE = "v1:fozI5u6B030=:v1:F+6ZduKKd8G0/V7L:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ=="


def test_state_written_by_the_pulumi_cli_opens_with_its_passphrase() -> None:
    manager = PassphraseSecretsManager.from_state("password", PULUMI_TEST_STATE)
    assert manager.state == PULUMI_TEST_STATE


def test_wrong_passphrase_is_rejected_like_the_cli() -> None:
    with pytest.raises(PassphraseError, match="incorrect passphrase"):
        PassphraseSecretsManager.from_state("password123", PULUMI_TEST_STATE)


def test_malformed_state_is_an_error_not_a_crash() -> None:
    with pytest.raises(PassphraseError):
        PassphraseSecretsManager.from_state(
            "password", "fozI5u6B030=:v1:F+6ZduL:PGMFeIzwobWRKmEAzUdaQHqC5mMRIQ=="
        )


def test_values_use_the_v1_nonce_ciphertext_format_and_round_trip() -> None:
    manager = PassphraseSecretsManager.from_state("password", PULUMI_TEST_STATE)
    value = manager.encrypt("hunter2")
    version, nonce, sealed = value.split(":")
    assert version == "v1"
    assert len(base64.b64decode(nonce)) == 12  # AES-GCM standard nonce
    assert len(base64.b64decode(sealed)) == len("hunter2") + 16  # ciphertext + GCM tag
    assert manager.decrypt(value) == "hunter2"
    assert manager.encrypt("hunter2") != value  # fresh nonce each time


def test_new_state_has_an_8_byte_salt_and_encrypts_the_word_pulumi() -> None:
    manager = PassphraseSecretsManager.new("pw")
    version, salt, rest = manager.state.split(":", 2)
    assert version == "v1" and len(base64.b64decode(salt)) == 8
    assert PassphraseSecretsManager.from_state("pw", manager.state).decrypt(rest) == "pulumi"


def test_tampered_ciphertext_fails_to_decrypt() -> None:
    manager = PassphraseSecretsManager.from_state("password", PULUMI_TEST_STATE)
    v, nonce, sealed = manager.encrypt("x").split(":")
    raw = bytearray(base64.b64decode(sealed))
    raw[0] ^= 1
    with pytest.raises(PassphraseError):
        manager.decrypt(f"{v}:{nonce}:{base64.b64encode(bytes(raw)).decode()}")


def test_passphrase_comes_from_env_or_file(tmp_path) -> None:
    assert read_passphrase({"PULUMI_CONFIG_PASSPHRASE": ""}) == ""  # empty is a valid passphrase
    f = tmp_path / "pp"
    f.write_text("from-file\n")
    assert read_passphrase({"PULUMI_CONFIG_PASSPHRASE_FILE": str(f)}) == "from-file"
    with pytest.raises(PassphraseError, match="PULUMI_CONFIG_PASSPHRASE"):
        read_passphrase({})


def test_config_set_secret_writes_a_stack_file_that_config_load_decrypts(tmp_path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: proj\nruntime: python\nstackConfigDir: stacks\n")
    project = Project.load(tmp_path)
    env = {"PULUMI_CONFIG_PASSPHRASE": "pw"}
    set_stack_config(project, "dev", "token", "tok-123", secret=True, env=env)
    set_stack_config(project, "dev", "other:plain", "p", env=env)
    text = (tmp_path / "stacks" / "Pulumi.dev.yaml").read_text()
    assert "tok-123" not in text and text.startswith("encryptionsalt: v1:")
    config = load_stack_config(project, "dev", {"extra": "e"}, {"cli": "c"}, env)
    assert config.values == {"proj:token": "tok-123", "other:plain": "p", "proj:extra": "e", "proj:cli": "c"}
    assert config.secret_keys == {"proj:token", "proj:cli"}
    with pytest.raises(Exception, match="incorrect passphrase"):
        load_stack_config(project, "dev", env={"PULUMI_CONFIG_PASSPHRASE": "wrong"})
