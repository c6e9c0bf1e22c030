"""Secret redaction: every string that leaves this package in an exception or a log record goes through
:func:`scrub`, and every log record made in this process is scrubbed when it is created."""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

# ----------------------------------------------------------------------------------------------------
_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()


def register_secret(value: Any) -> None:
    """Remember a secret value so no message produced here can ever contain it."""
    if isinstance(value, str) and len(value) >= 4:
        with _SECRETS_LOCK:
            _SECRETS.add(value)


def scrub(text: str) -> str:
    with _SECRETS_LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "[secret]")
    return text


# Third-party DEBUG logging prints what goes over the wire: zeep.transports logs every SOAP envelope (the
# session id, a named credential's password, an OAuth app's consumer key and secret), simple-salesforce and
# urllib3 log requests. The consumer key is matched by element name because a refresh reads it back before
# anything in the process has registered it as a secret.
# Whoever turns DEBUG on for the provider process must still not see a secret, so every log record made in
# this process is scrubbed when it is created.
_SENSITIVE_XML = re.compile(
    r"(<(?:[\w-]+:)?(?:sessionId|password|consumerKey|consumerSecret|privateKey|clientSecret)>)([^<]*)(</)",
    re.IGNORECASE,
)
_previous_record_factory = logging.getLogRecordFactory()


def _scrubbing_record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _previous_record_factory(*args, **kwargs)
    try:
        text = record.getMessage()
    except Exception:  # a record whose own formatting fails is logging's problem, not a leak
        return record
    clean = scrub(_SENSITIVE_XML.sub(r"\1[secret]\3", text))
    if clean != text:
        record.msg, record.args = clean, ()
    return record


if getattr(_previous_record_factory, "__name__", "") != "_scrubbing_record_factory":
    logging.setLogRecordFactory(_scrubbing_record_factory)
