"""The `podium` command, one module per command group (see `app.py` for the list)."""

from __future__ import annotations

import faulthandler
import gc
import os
import signal
import sys

# podium's processes start Java through PySpark (a fork with a preexec_fn) while gRPC
# threads serve Spark Connect; gRPC's own fork handlers then break the forked child
# before it execs (JAVA_GATEWAY_EXITED). A child that uses gRPC itself (an environment's
# task process) is forked before its parent opens any channel, so it needs no handlers.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

from podium.cli.app import app


def main() -> None:
    """Console-script entry point. `kill -USR1 <pid>` prints every thread's stack to
    stderr and lets the command go on: how to see where a run or a server waits."""
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        _exit_quickly()


def _exit_quickly() -> None:
    """Spare the interpreter's last garbage collections: with PySpark, pandas and
    pydantic loaded they walk millions of objects and took 0.3 s of every command's exit.
    Garbage there is now is collected (its finalizers run) first; what the modules'
    teardown frees afterwards is freed by reference counts, as before, and atexit
    handlers run as always."""
    gc.collect()
    gc.freeze()


__all__ = ["app", "main"]
