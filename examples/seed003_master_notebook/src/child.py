# Databricks notebook source
dbutils.widgets.text("data", "0")
dbutils.widgets.text("data1", "")
data = int(dbutils.widgets.get("data"))
rows = spark.range(data * 10).count()
dbutils.notebook.exit(f"{dbutils.widgets.get('data1')}:{rows}")
