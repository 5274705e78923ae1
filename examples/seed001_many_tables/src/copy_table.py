# Databricks notebook source
dbutils.widgets.text("table_id", "0")
dbutils.widgets.text("rows", "100000")
table_id = dbutils.widgets.get("table_id")
rows = int(dbutils.widgets.get("rows"))

# COMMAND ----------

target = f"seed001.copy_{int(table_id):02d}"
spark.table("seed001.lineitem").limit(rows).write.mode("overwrite").saveAsTable(target)
written = spark.table(target).count()
print(f"{target}: {written} rows")
dbutils.jobs.taskValues.set(key="rows", value=written)
