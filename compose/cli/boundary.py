"""The one place where errors become messages and exit codes (as docker compose: 1 for errors, 130 on ^C)."""

from __future__ import annotations

import argparse
import sys
from types import ModuleType

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def run_command(module: ModuleType, args: argparse.Namespace) -> int:
    from compose.errors import ComposeError
    from runtime.errors import RuntimeErrorBase

    try:
        result = module.run(args)
        return int(result or 0)
    except (ComposeError, RuntimeErrorBase) as exc:
        code = getattr(exc, "exit_code", EXIT_ERROR)
        print(f"error: {exc}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print("Aborting.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error worth a traceback.
        return 0
