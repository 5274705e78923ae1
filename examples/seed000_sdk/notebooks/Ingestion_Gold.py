# Databricks notebook source
gold = spark.table("silver_orders").groupBy("store").sum("amount") \
    .withColumnRenamed("sum(amount)", "revenue")
gold.write.mode("overwrite").saveAsTable("gold_store_revenue")
dbutils.notebook.exit(str(spark.table("gold_store_revenue").count()))
