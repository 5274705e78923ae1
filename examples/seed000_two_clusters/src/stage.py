# Databricks notebook source
dbutils.widgets.text("stage", "silver")
stage = dbutils.widgets.get("stage")
role = spark.conf.get("spark.podium.role", "unset")
print(f"stage {stage} runs on the {role} cluster ({spark.conf.get('spark.app.id')})")
dbutils.jobs.taskValues.set(key="role", value=role)
dbutils.notebook.exit(role)
