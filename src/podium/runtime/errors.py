"""Exceptions task code can meet at run time."""

from __future__ import annotations


class NotebookExit(BaseException):
    """Raised by `dbutils.notebook.exit(value)` to end a notebook with an exit value.

    A BaseException, so a notebook's `except Exception` does not swallow it.
    """

    def __init__(self, value: str):
        super().__init__(value)
        self.value = value


class TaskInterrupted(BaseException):
    """Delivered into a task's thread when it is cancelled or times out."""


class NotebookRunError(Exception):
    """A child notebook run by `dbutils.notebook.run` failed or timed out."""


class WidgetError(Exception):
    """A widget was read that has no value and no default."""


class TaskFailed(Exception):
    """Task code that ran in its own process failed; the message is its error as that
    process reported it (`ValueError: ...`), shown as is."""


class LogUnwritable(OSError):
    """A task's log could not be written (its disk is full, say): raised where the task
    printed, and the task fails saying so even if its code caught this."""
