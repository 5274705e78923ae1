"""The hand-rolled pool on a mixed workload: one SparkSession, a ThreadPoolExecutor with
`workers` threads (0: Python's default), small and large copies submitted in the given
order. Usage: mixed_pool.py SOURCE WORKERS LIMIT [LIMIT ...]"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

from copy_job import copy  # beside this script, which is first on sys.path
from pyspark.sql import SparkSession

if __name__ == "__main__":
    source, workers, limits = sys.argv[1], int(sys.argv[2]), [int(a) for a in sys.argv[3:]]
    spark = SparkSession.builder.appName("mixed-pool").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spark.sql("CREATE DATABASE IF NOT EXISTS bench")
    with ThreadPoolExecutor(workers or None) as pool:
        names = list(pool.map(lambda limit: copy(spark, source, limit), limits))
    assert len(set(names)) == len(limits)
    spark.stop()
