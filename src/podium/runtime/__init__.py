"""What task code sees: the task context, `dbutils`, `display`, per-task output capture.

`from podium.runtime import dbutils` works inside a podium task and outside podium.
"""

from podium.runtime.dbutils import dbutils, display

__all__ = ["dbutils", "display"]
