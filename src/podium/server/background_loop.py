"""An asyncio event loop on a thread of its own, beside uvicorn's: `podium serve`'s
front door and its Spark Connect proxy share one, so a relayed message changes threads
(and waits for the GIL) once less."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class BackgroundLoop:
    """A running event loop on a daemon thread; `run` waits for a coroutine on it."""

    def __init__(self, name: str):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        """The coroutine's result, run on the loop (its exception, raised here)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        """Stop the loop (its thread ends)."""
        self.loop.call_soon_threadsafe(self.loop.stop)
