"""Every command we print or document that sets a secret takes the value on stdin, never in argv (where `ps`
shows it to every user of the machine): error hints in the code, the README, the docs and the stack
examples."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from providers.config.keys import CONNECTION, KEYS
from salesforce.client import access_token_expired_hint
from tests.support import REPO

SECRET_KEYS = "|".join(re.escape(k.full_name) for k in KEYS if k.secret)
# `pulumi config set [--path] --secret [--path] <secret key>` (spelt out, or an f-string's `{KEY.full_name}`)
# followed on the same line by a value: anything but the end of the command (a backtick, `|`, `)`, the end
# of the line) or a `< file` redirect.
VALUE_IN_ARGV = re.compile(
    rf"config set(?: --path)? --secret(?: --path)? (?:{SECRET_KEYS}|\{{[\w.]+\}})(?![\w.:])[ \t]+"
    r"(?!< |[`|)\n]|$)(?P<value>\S+)",
    re.MULTILINE,
)
PATTERNS = ("salesforce/*.py", "providers/**/*.py", "components/*.py", "tools/*.py", "*.md", "docs/**/*.md",
            "docs/**/*.yml", "stacks/*", "Makefile", "Pulumi.yaml")  # fmt: skip
SOURCES = sorted(p for pattern in PATTERNS for p in REPO.glob(pattern))


def test_the_scan_finds_a_value_in_argv() -> None:
    assert VALUE_IN_ARGV.search("run `pulumi config set --secret eci-aircall:accessToken <token>`")
    assert VALUE_IN_ARGV.search("pulumi config set --secret eci-aircall:aircallApiToken 'abc'")
    assert not VALUE_IN_ARGV.search("pulumi config set --secret eci-aircall:privateKey < server.key")
    assert not VALUE_IN_ARGV.search('printf %s "$T" | pulumi config set --secret eci-aircall:accessToken`')
    assert VALUE_IN_ARGV.search('f"`pulumi config set --secret {ACCESS_TOKEN.full_name} <token>`"')


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_command_we_print_puts_a_secret_in_argv(path: Path) -> None:
    found = [m.group(0) for m in VALUE_IN_ARGV.finditer(path.read_text())]
    assert not found, found


def test_the_expired_token_hint_pipes_the_token() -> None:
    hint = access_token_expired_hint(CONNECTION)
    assert not VALUE_IN_ARGV.search(hint)
    assert "| pulumi config set --secret eci-aircall:accessToken`" in hint
