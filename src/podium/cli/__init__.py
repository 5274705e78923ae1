"""The `podium` command, one module per command group (see `app.py` for the list)."""

from __future__ import annotations

import os
import sys

# podium's processes start Java through PySpark (a fork with a preexec_fn) while gRPC
# threads serve Spark Connect; gRPC's own fork handlers then break the forked child
# before it execs (JAVA_GATEWAY_EXITED). A child that uses gRPC itself (an environment's
# task process) is forked before its parent opens any channel, so it needs no handlers.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

from podium.cli.app import app


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["app", "main"]
