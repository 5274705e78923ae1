# Databricks notebook source
# MAGIC %md Runs the child notebook once per item, eight at a time, as in seed 003.

# COMMAND ----------

from multiprocessing.pool import ThreadPool

dbutils.widgets.text("items", "8")
looplist = [{"data": i, "data1": f"part-{i}"} for i in range(int(dbutils.widgets.get("items")))]

pool = ThreadPool(8)
results = pool.map(
    lambda i: dbutils.notebook.run("child", 600, {"data": i["data"], "data1": i["data1"]}),
    looplist,
)
print(results)
dbutils.jobs.taskValues.set(key="results", value=results)
dbutils.notebook.exit(",".join(results))
