# Databricks notebook source
orders = spark.range(0, 10_000).selectExpr("id AS order_id", "id % 7 AS store",
                                           "CAST(id % 100 AS DOUBLE) AS amount")
orders.write.mode("overwrite").saveAsTable("silver_orders")
dbutils.notebook.exit(str(spark.table("silver_orders").count()))
