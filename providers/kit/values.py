"""Values as they travel: Pulumi's wire form (unknowns, secrets, floats), write-only secrets kept as salted
hashes, dotted paths into Salesforce records, Salesforce Ids and times. No Salesforce call, no provider."""

from __future__ import annotations

import hashlib
import hmac
import secrets as pysecrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime import rpc

#: The input under which the engine hands a dynamic resource its pickled provider (pulumi/dynamic).
PROVIDER_KEY = "__provider"
HASH_ITERATIONS = 20_000


# --- the wire ---
def is_unknown(value: Any) -> bool:
    """Unknown in a preview — also a list or map with an unknown element (e.g. ``[ps.name, "x"]``)."""
    if isinstance(value, list | tuple):
        return any(is_unknown(v) for v in value)
    if isinstance(value, dict) and not rpc.is_rpc_secret(value):
        return any(is_unknown(v) for v in value.values())
    return isinstance(value, Unknown) or (isinstance(value, str) and value == rpc.UNKNOWN)


def normalize(value: Any) -> Any:
    """Protobuf carries every number as a float: 1.0 and 1 are the same input."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list | tuple):
        return [normalize(v) for v in value]
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    return value


def unwrap(props: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Props without the secret wrappers, and the names that were secret."""
    plain: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in props.items():
        if rpc.is_rpc_secret(value):
            secret.add(key)
            value = rpc.unwrap_rpc_secret(value)
        plain[key] = value
    return plain, secret


# --- write-only secrets: the state keeps a salted hash, never the value ---
def hash_secret(value: str, salt: str | None = None) -> str:
    salt = salt or pysecrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", value.encode(), bytes.fromhex(salt), HASH_ITERATIONS).hex()
    return f"pbkdf2-sha256${salt}${digest}"


def secret_matches(value: str, stored: Any) -> bool:
    if not isinstance(stored, str) or stored.count("$") != 2:
        return False
    _, salt, _digest = stored.split("$")
    try:
        return hmac.compare_digest(hash_secret(value, salt), stored)
    except ValueError:
        return False


# --- records: dotted paths (``oauthConfig.callbackUrl``) ---
def get_path(record: Mapping[str, Any] | None, path: str) -> Any:
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def set_path(record: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    current = record
    for part in parts[:-1]:
        current = current.setdefault(part, {})
    current[parts[-1]] = value


def drop_path(record: dict[str, Any], path: str) -> None:
    parts = path.split(".")
    current: Any = record
    for part in parts[:-1]:
        current = current.get(part) if isinstance(current, dict) else None
        if current is None:
            return
    if isinstance(current, dict):
        current.pop(parts[-1], None)


def merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge of dicts (overlay wins); lists and scalars are replaced."""
    result = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"Profile": {"Name": "x"}}`` → ``{"Profile.Name": "x"}`` alongside the original keys."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        path = f"{prefix}{key}"
        flat[path] = value
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{path}."))
    return flat


# --- Salesforce's Ids, URLs and times ---
def same_id(a: Any, b: Any) -> bool:
    """Salesforce Ids compare on their first 15 characters (the 18-character form adds a case checksum)."""
    return bool(a) and bool(b) and str(a)[:15] == str(b)[:15]


def same_url(a: Any, b: Any) -> bool:
    return bool(a) and bool(b) and str(a).rstrip("/").lower() == str(b).rstrip("/").lower()


def parse_salesforce_time(value: Any) -> float | None:
    """A Salesforce dateTime (REST ``2026-01-01T10:00:00.000+0000``, SOAP ``...Z``) as a POSIX time."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def iso(value: Any) -> str | None:
    """zeep gives a dateTime as a datetime; state keeps it as ISO 8601 text."""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if value else None
