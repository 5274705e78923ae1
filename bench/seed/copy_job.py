"""Seed 001's job: read the lineitem table, take `limit` rows, write them as a new table
named by a uuid. Run by spark-submit as its own application (the *dedicated* mode) and
imported by the hand-rolled pool; podium's notebook does the same two lines."""

from __future__ import annotations

import sys
import uuid


def copy(spark, source: str, limit: int) -> str:
    """One job: read, limit, write a new table; returns its name."""
    name = f"bench.t_{uuid.uuid4().hex}"
    spark.read.parquet(source).limit(limit).write.mode("overwrite").saveAsTable(name)
    return name


if __name__ == "__main__":
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("dedicated").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spark.sql("CREATE DATABASE IF NOT EXISTS bench")
    copy(spark, sys.argv[1], int(sys.argv[2]))
    spark.stop()
