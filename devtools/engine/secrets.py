"""Pulumi's passphrase secrets provider, byte-compatible with the CLI.

Follows pulumi/pulumi `pkg/secrets/passphrase/manager.go` and `sdk/go/common/resource/config/crypt.go`:
- key = PBKDF2-HMAC-SHA256(passphrase, salt, 1,000,000 iterations, 32 bytes)
- value = "v1:" + b64(12-byte nonce) + ":" + b64(AES-256-GCM ciphertext||tag)
- stack-file `encryptionsalt` / state `secrets_providers.state.salt`
  = "v1:" + b64(8-byte salt) + ":" + value("pulumi"),
  the encrypted word "pulumi" being how a wrong passphrase is detected.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PBKDF2_ITERATIONS = 1_000_000
_KEY_CACHE: dict[tuple[str, bytes], bytes] = {}
_KEY_LOCK = threading.Lock()


class PassphraseError(Exception):
    """Wrong, missing or unusable passphrase / salt. Messages never contain secret material."""


def _derive_key(passphrase: str, salt: bytes) -> bytes:
    # 1M PBKDF2 rounds cost ~0.3 s; cache per process like the CLI's secrets-manager cache.
    with _KEY_LOCK:
        cached = _KEY_CACHE.get((passphrase, salt))
        if cached is None:
            cached = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt, PBKDF2_ITERATIONS, 32)
            _KEY_CACHE[(passphrase, salt)] = cached
        return cached


def warm_key(passphrase: str, state: str) -> None:
    """Derive (and cache) the key for a salt state ahead of use."""
    parts = state.split(":", 2)
    if len(parts) == 3 and parts[0] == "v1":
        _derive_key(passphrase, base64.b64decode(parts[1]))


class SymmetricCrypter:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("AES-256-GCM needs a 32 byte key")
        self._aes = AESGCM(key)

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aes.encrypt(nonce, plaintext.encode(), None)
        return f"v1:{base64.b64encode(nonce).decode()}:{base64.b64encode(sealed).decode()}"

    def decrypt(self, value: str) -> str:
        parts = value.split(":")
        if len(parts) != 3:
            raise PassphraseError("bad value")
        if parts[0] != "v1":
            raise PassphraseError("unknown value version")
        try:
            nonce = base64.b64decode(parts[1], validate=True)
            sealed = base64.b64decode(parts[2], validate=True)
        except ValueError as exc:
            raise PassphraseError("bad value: invalid base64") from exc
        if len(nonce) != 12:
            raise PassphraseError("bad value: nonce size is incorrect")
        try:
            return self._aes.decrypt(nonce, sealed, None).decode()
        except InvalidTag as exc:
            raise PassphraseError("failed to decrypt: incorrect passphrase or corrupted value") from exc


class PassphraseSecretsManager:
    """A crypter plus the salt state it came from (written to the stack file and the deployment)."""

    type = "passphrase"

    def __init__(self, state: str, crypter: SymmetricCrypter) -> None:
        self.state = state
        self.crypter = crypter

    @classmethod
    def from_state(cls, passphrase: str, state: str) -> PassphraseSecretsManager:
        parts = state.split(":", 2)
        if len(parts) != 3:
            raise PassphraseError("malformed state value")
        if parts[0] != "v1":
            raise PassphraseError("unknown state version")
        try:
            salt = base64.b64decode(parts[1], validate=True)
        except ValueError as exc:
            raise PassphraseError("malformed state value") from exc
        crypter = SymmetricCrypter(_derive_key(passphrase, salt))
        try:
            check = crypter.decrypt(parts[2])
        except PassphraseError:
            check = None
        if check != "pulumi":
            raise PassphraseError("incorrect passphrase")
        return cls(state, crypter)

    @classmethod
    def new(cls, passphrase: str) -> PassphraseSecretsManager:
        salt = os.urandom(8)
        crypter = SymmetricCrypter(_derive_key(passphrase, salt))
        state = f"v1:{base64.b64encode(salt).decode()}:{crypter.encrypt('pulumi')}"
        return cls(state, crypter)

    def encrypt(self, plaintext: str) -> str:
        return self.crypter.encrypt(plaintext)

    def decrypt(self, ciphertext: str) -> str:
        return self.crypter.decrypt(ciphertext)


def read_passphrase(env: dict[str, str] | None = None) -> str:
    """PULUMI_CONFIG_PASSPHRASE, else PULUMI_CONFIG_PASSPHRASE_FILE, as `readPassphrase` in manager.go."""
    env = dict(os.environ) if env is None else env
    if "PULUMI_CONFIG_PASSPHRASE" in env:
        return env["PULUMI_CONFIG_PASSPHRASE"]
    path = env.get("PULUMI_CONFIG_PASSPHRASE_FILE", "")
    if path:
        try:
            with open(os.path.abspath(path), encoding="utf-8") as fh:
                return fh.read().strip()
        except OSError as exc:
            raise PassphraseError(f"unable to read PULUMI_CONFIG_PASSPHRASE_FILE: {exc.strerror}") from exc
    raise PassphraseError(
        "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE "
        "environment variables"
    )
