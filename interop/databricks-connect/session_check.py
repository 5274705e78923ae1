"""What a developer does in an IDE with databricks-connect, run against `podium serve`:
prints one JSON object of what happened (the test reads it).

    session_check.py remote HOST TOKEN CLUSTER_ID [TABLE [CSV_PATH]]
    session_check.py profile NAME [TABLE]
    session_check.py serverless NAME
"""

from __future__ import annotations

import json
import sys
import threading
import time


def builder(mode: str, args: list[str]):
    from databricks.connect import DatabricksSession

    if mode == "remote":
        return DatabricksSession.builder.remote(host=args[0], token=args[1],
                                                cluster_id=args[2])
    if mode == "profile":
        return DatabricksSession.builder.profile(args[0])
    return DatabricksSession.builder.profile(args[0]).serverless()


def interrupted(spark, seconds: float) -> dict:
    """How long a long query ran after `interruptAll` from another thread, and how it
    ended."""
    ended: list[float] = []
    errors: list[str] = []

    def long_query() -> None:
        try:
            spark.range(10**13).selectExpr("max(id)").collect()
        except Exception as exc:
            ended.append(time.monotonic())
            errors.append(f"{type(exc).__name__}: {exc}"[:300])

    worker = threading.Thread(target=long_query)
    worker.start()
    time.sleep(seconds)
    asked = time.monotonic()
    spark.interruptAll()
    worker.join(120)
    return {"after": ended[0] - asked if ended else None, "error": errors[0] if errors else None}


def main(mode: str, args: list[str]) -> dict:
    from pyspark.sql.functions import udf

    tail = {"remote": 3, "profile": 1, "serverless": 1}[mode]
    table = args[tail] if len(args) > tail else None
    try:
        spark = builder(mode, args).getOrCreate()
        seen: dict = {"count": spark.range(10**6).count(),
                      "sql": spark.sql("SELECT 1 + 1 AS two").first().two}
    except Exception as exc:  # what the developer sees when the session is refused
        return {"error": f"{type(exc).__name__}: {exc}"}

    @udf("int")
    def plus_one(x: int) -> int:
        return x + 1

    seen["udf"] = [r[0] for r in spark.range(3).select(plus_one("id")).collect()]
    if table:
        seen["table"] = spark.table(table).count()
        spark.range(5).write.mode("overwrite").saveAsTable(f"{table}_from_ide")
    if len(args) > tail + 1:  # a file in a volume, read where the cluster runs
        seen["csv"] = [r.asDict() for r in spark.read.csv(args[tail + 1], header=True).collect()]
    if mode == "remote":
        seen["interrupted"] = interrupted(spark, 3.0)
    spark.stop()
    return seen


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2:])), flush=True)
