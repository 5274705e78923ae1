"""The `podium` command, one module per command group (see `app.py` for the list)."""

from __future__ import annotations

import sys

from podium.cli.app import app


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["app", "main"]
