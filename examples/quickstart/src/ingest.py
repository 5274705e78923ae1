# Databricks notebook source
# MAGIC %md
# MAGIC # Ingest sales
# MAGIC Generates one day of sales rows and writes them to a table.

# COMMAND ----------

dbutils.widgets.text("rows", "1000")
dbutils.widgets.text("schema", "quickstart")
dbutils.widgets.text("run_date", "2026-01-01")
rows = int(dbutils.widgets.get("rows"))
schema = dbutils.widgets.get("schema")
run_date = dbutils.widgets.get("run_date")

# COMMAND ----------

from pyspark.sql import functions as F

spark.sql(f"CREATE DATABASE IF NOT EXISTS {schema}")
sales = (
    spark.range(rows)
    .withColumn("store", (F.col("id") % 7).cast("int"))
    .withColumn("amount", F.round(F.rand(seed=42) * 100, 2))
    .withColumn("sale_date", F.lit(run_date).cast("date"))
)
sales.write.mode("overwrite").saveAsTable(f"{schema}.sales")
count = spark.table(f"{schema}.sales").count()
print(f"wrote {count} rows for {run_date}")
dbutils.jobs.taskValues.set(key="row_count", value=count)

# COMMAND ----------

display(spark.table(f"{schema}.sales").orderBy("id").limit(5))
