"""The seed's hand-rolled way: one SparkSession, a ThreadPoolExecutor with the default
`max_workers`, every job submitted to it. Usage: hand_rolled.py SOURCE LIMIT JOBS"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

from copy_job import copy  # beside this script, which is first on sys.path
from pyspark.sql import SparkSession

if __name__ == "__main__":
    source, limit, jobs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    spark = SparkSession.builder.appName("hand-rolled").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spark.sql("CREATE DATABASE IF NOT EXISTS bench")
    with ThreadPoolExecutor() as pool:
        names = list(pool.map(lambda _: copy(spark, source, limit), range(jobs)))
    assert len(set(names)) == jobs
    spark.stop()
