"""The list of table ids the for-each job iterates over (a podium python_task)."""

from podium.runtime import dbutils


def make(count: str) -> list[int]:
    """Publish [1..count] as the task value `table_ids`."""
    ids = list(range(1, int(count) + 1))
    dbutils.jobs.taskValues.set(key="table_ids", value=ids)
    return ids
