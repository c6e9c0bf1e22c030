"""What the providers keep of a write-only secret: the value wrapped as a secret (encrypted in state)."""

from __future__ import annotations

from typing import Any

from pulumi.runtime import rpc


def kept_secret(value: Any) -> Any:
    """The value a provider kept as a secret output or input; AssertionError when it is not wrapped as one
    (then the engine would store it in plaintext)."""
    assert rpc.is_rpc_secret(value), f"not wrapped as a secret: {type(value).__name__}"
    return rpc.unwrap_rpc_secret(value)
