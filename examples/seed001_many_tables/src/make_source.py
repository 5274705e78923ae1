# Databricks notebook source
# MAGIC %md Writes the source table every copy task reads (a small lineitem-like table).

# COMMAND ----------

from pyspark.sql import functions as F

dbutils.widgets.text("rows", "100000")
rows = int(dbutils.widgets.get("rows"))
spark.sql("CREATE DATABASE IF NOT EXISTS seed001")
(
    spark.range(rows)
    .withColumn("l_quantity", (F.col("id") % 50 + 1).cast("decimal(12,2)"))
    .withColumn("l_extendedprice", (F.rand(seed=1) * 1000).cast("decimal(12,2)"))
    .withColumn("l_shipdate", F.date_add(F.lit("1995-01-01"), (F.col("id") % 2000).cast("int")))
    .write.mode("overwrite").saveAsTable("seed001.lineitem")
)
