"""How task code reaches its workspace, as a Databricks notebook does without
configuration: each run's tasks get `DATABRICKS_HOST` (the API's address) and a token of
the run's own, issued when a task first asks, revoked when the run ends.

The address comes from whoever serves the API: `podium serve`'s own, or for a `podium run`
an API served on a loopback port for as long as the process runs (`server/embedded.py`).
A token also expires on its own after `TOKEN_LIFETIME_SECONDS`, should its process die
before revoking it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from podium.runtime.task_env import TaskEnv
from podium.store import RunStore, tokens

NAMES = ("DATABRICKS_HOST", "DATABRICKS_TOKEN")
TOKEN_LIFETIME_SECONDS = 7 * 24 * 3600


class WorkspaceAccess:
    """Issues each run's credentials and takes them back when the run ends."""

    def __init__(self, store: RunStore, host: Callable[[], str], user: str):
        self.store, self.host, self.user = store, host, user
        self._envs: dict[int, TaskEnv] = {}
        self._tokens: dict[str, int] = {}  # token_id -> run_id
        self._lock = threading.Lock()

    def env_for(self, run: Any) -> TaskEnv:
        """The variables of `run`'s tasks (one set a run, made when first read)."""
        with self._lock:
            env = self._envs.get(run.run_id)
            if env is None:
                env = self._envs[run.run_id] = TaskEnv(
                    NAMES, lambda: self._issue(run.run_id), secret=("DATABRICKS_TOKEN",))
            return env

    def _issue(self, run_id: int) -> dict[str, str]:
        value, info = tokens.create(self.store, self.user, f"task code of run {run_id}",
                                    TOKEN_LIFETIME_SECONDS)
        with self._lock:
            self._tokens[info.token_id] = run_id
        return {"DATABRICKS_HOST": self.host(), "DATABRICKS_TOKEN": value}

    def run_of(self, token: str) -> int | None:
        """The run a token was issued to by this process, if it was."""
        token_id = token[len(tokens.PREFIX):].partition(".")[0] \
            if token.startswith(tokens.PREFIX) else ""
        with self._lock:
            return self._tokens.get(token_id)

    def listener(self, run: Any, tr: Any) -> None:
        """An executor listener: revoke a run's token when the run ends."""
        if tr is None and run.final:
            self.end(run.run_id)

    def end(self, run_id: int) -> None:
        """Take back the token of run `run_id`, if one was issued."""
        with self._lock:
            self._envs.pop(run_id, None)
            ids = [t for t, r in self._tokens.items() if r == run_id]
            for token_id in ids:
                del self._tokens[token_id]
        for token_id in ids:
            tokens.revoke(self.store, token_id)

    def close(self) -> None:
        """Take back every token still out (the process is stopping)."""
        with self._lock:
            runs = set(self._tokens.values())
        for run_id in runs:
            self.end(run_id)
