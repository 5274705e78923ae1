"""Print the per-store report; runs as a spark_python_task with --schema SCHEMA."""

import argparse

from pyspark.sql import SparkSession

parser = argparse.ArgumentParser()
parser.add_argument("--schema", required=True)
args = parser.parse_args()

spark = SparkSession.builder.getOrCreate()
rows = spark.table(f"{args.schema}.sales_by_store").orderBy("store").collect()
total = sum(r["revenue"] for r in rows)
for r in rows:
    print(f"store {r['store']}: {r['sales']} sales, revenue {r['revenue']:.2f}")
print(f"total revenue {total:.2f}")
