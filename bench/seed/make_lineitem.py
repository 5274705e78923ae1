"""A lineitem-like table (TPC-H `lineitem` columns and types) made with Spark expressions,
stored as Parquet. Usage: make_lineitem.py OUT ROWS"""

from __future__ import annotations

import sys

from pyspark.sql import SparkSession

COLUMNS = [
    "id + 1 AS l_orderkey",
    "(id * 7919) % 200000 + 1 AS l_partkey",
    "(id * 104729) % 10000 + 1 AS l_suppkey",
    "CAST(id % 7 + 1 AS INT) AS l_linenumber",
    "CAST(id % 50 + 1 AS DECIMAL(15,2)) AS l_quantity",
    "CAST((id % 50 + 1) * (900 + id % 1000) / 10 AS DECIMAL(15,2)) AS l_extendedprice",
    "CAST((id % 11) / 100 AS DECIMAL(15,2)) AS l_discount",
    "CAST((id % 9) / 100 AS DECIMAL(15,2)) AS l_tax",
    "element_at(array('A', 'N', 'R'), CAST(id % 3 + 1 AS INT)) AS l_returnflag",
    "element_at(array('F', 'O'), CAST(id % 2 + 1 AS INT)) AS l_linestatus",
    "date_add(DATE'1992-01-02', CAST(id % 2526 AS INT)) AS l_shipdate",
    "date_add(DATE'1992-01-31', CAST(id % 2466 AS INT)) AS l_commitdate",
    "date_add(DATE'1992-01-03', CAST(id % 2555 AS INT)) AS l_receiptdate",
    ("element_at(array('DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'),"
     " CAST(id % 4 + 1 AS INT)) AS l_shipinstruct"),
    ("element_at(array('REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'),"
     " CAST(id % 7 + 1 AS INT)) AS l_shipmode"),
    "substr(sha2(CAST(id AS STRING), 256), 1, CAST(10 + id % 34 AS INT)) AS l_comment",
]

if __name__ == "__main__":
    out, rows = sys.argv[1], int(sys.argv[2])
    spark = SparkSession.builder.appName("make-lineitem").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spark.range(rows).selectExpr(*COLUMNS) \
        .write.mode("overwrite").parquet(out)
    spark.stop()
