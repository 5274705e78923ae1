# Databricks notebook source
features = spark.table("gold_store_revenue").selectExpr(
    "store", "revenue", "revenue / 1000.0 AS revenue_k")
features.write.mode("overwrite").saveAsTable("store_features")
dbutils.notebook.exit(str(spark.table("store_features").count()))
