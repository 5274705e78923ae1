# Databricks notebook source
dbutils.widgets.text("run_date", "")
dbutils.widgets.text("pipeline", "")
pipeline, run_date = dbutils.widgets.get("pipeline"), dbutils.widgets.get("run_date")
table = f"pipeline_{pipeline}_metrics"
spark.createDataFrame([(run_date, pipeline, 1)], "run_date string, pipeline string, n int") \
    .write.mode("overwrite").saveAsTable(table)
dbutils.notebook.exit(table)
