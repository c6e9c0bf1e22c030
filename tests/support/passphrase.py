"""Read what the real CLI's passphrase secrets provider encrypted in a checkpoint, to scan it for plaintext.

Pulumi's scheme (pulumi/pulumi v3.276.0 pkg/secrets/passphrase/manager.go, sdk/go/common/resource/config/
crypt.go): key = PBKDF2-HMAC-SHA256(passphrase, salt, 1,000,000 rounds, 32 bytes); a value is
"v1:" + b64(12-byte nonce) + ":" + b64(AES-256-GCM sealed); the salt state is "v1:" + b64(salt) + ":" +
value("pulumi").
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from functools import cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


@cache
def _key(passphrase: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt, 1_000_000, 32)


def decrypter(passphrase: str, state: str) -> Callable[[str], str]:
    """A decrypt function for values under the salt `state`; fails on a wrong passphrase."""
    version, salt, check = state.split(":", 2)
    assert version == "v1", state
    aes = AESGCM(_key(passphrase, base64.b64decode(salt)))

    def decrypt(value: str) -> str:
        version, nonce, sealed = value.split(":")
        assert version == "v1"
        return aes.decrypt(base64.b64decode(nonce), base64.b64decode(sealed), None).decode()

    assert decrypt(check) == "pulumi", "wrong passphrase"
    return decrypt
