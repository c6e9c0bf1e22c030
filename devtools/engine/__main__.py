"""`python -m devtools.engine`: see cli.py."""

import sys

from ._prederive import start as _prederive

# The passphrase key derivation (1M PBKDF2 rounds) runs while the engine's modules import.
_prederive(sys.argv[1:])

from .cli import main  # noqa: E402

try:
    sys.exit(main())
except BrokenPipeError:
    # Output piped into something that stopped reading (`| head`): nothing left to say.
    sys.stderr.close()
    sys.exit(1)
