"""A classic driver's jobs, stages and load read from its status store (podium's
`AppStatus`) are what its monitoring REST API says, and its heap and GC time what its
metrics servlet says: read both ways inside a task of a cold `podium run`, while a stage
waits for cores and after its jobs are done."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_runs import cli

NOTEBOOK = """# Databricks notebook source
import json, threading, time, urllib.request
sc = spark.sparkContext
status, context = sc._jvm.podium.spark.AppStatus, sc._jsc.sc()
api = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}"

def rest(path):
    return json.load(urllib.request.urlopen(f"{api}/{path}"))

slow = threading.Thread(target=lambda: spark.range(0, 6, 1, 6).selectExpr(
    "java_method('java.lang.Thread', 'sleep', cast(2500 as bigint))").collect())
slow.start()
while not rest("jobs?status=running"):
    time.sleep(0.1)
time.sleep(0.5)  # its stage has six tasks for two cores

def rest_load():
    executors, stages = rest("executors"), rest("stages?status=active")
    return {"cores": sum(e["totalCores"] for e in executors),
            "busy": sum(e["activeTasks"] for e in executors),
            "pending": sum(s["numTasks"] - s["numActiveTasks"] - s["numCompleteTasks"]
                           for s in stages),
            "active_jobs": len(rest("jobs?status=running"))}

# the two reads are moments apart, and a wave of tasks may end between them: read both
# until they agree (on a loaded machine that can take a second try)
for _ in range(10):
    load = json.loads(status.load(context))
    rest_seen = rest_load()
    if load == rest_seen:
        break
slow.join()
spark.range(100).selectExpr("id % 3 AS k").groupBy("k").count().collect()
time.sleep(1)  # the listener has taken in the last job's end
gauges = json.load(urllib.request.urlopen(f"{sc.uiWebUrl}/metrics/json/"))["gauges"]
servlet = {"heap_max": [v["value"] for k, v in gauges.items() if k.endswith("jvm.heap.max")],
           "gc_ms": sum(v["value"] for k, v in gauges.items()
                        if k.startswith(f"{sc.applicationId}.driver.jvm.") and k.endswith(".time"))}
from podium.compute.cluster_load import _jvm_figures, _metrics
read = _jvm_figures(_metrics(sc.uiWebUrl))  # how podium reads a Connect server's
seen = {"load": load, "rest_load": rest_seen, "servlet": servlet, "read_from_servlet": read,
        "jvm": json.loads(status.jvm()),  # read last: its GC time is the latest
        "jobs": json.loads(status.jobs(context)), "rest_jobs": rest("jobs"),
        "stages": json.loads(status.stages(context)),
        "rest_stages": rest("stages?details=false")}
dbutils.notebook.exit(json.dumps(seen))
"""


def test_the_status_store_says_what_the_monitoring_api_says(tmp_path: Path,
                                                           write_bundle) -> None:
    root = write_bundle("""
        bundle: {name: status}
        resources:
          jobs:
            j:
              job_clusters:
                - job_cluster_key: two
                  new_cluster: {spark_conf: {spark.master: "local[2]"}}
              tasks:
                - {task_key: t, job_cluster_key: two, notebook_task: {notebook_path: nb.py}}
        """, {"nb.py": NOTEBOOK})
    view = json.loads(cli("run", "j", "--bundle", str(root), "--json",
                          home=tmp_path / "home").stdout)
    [task] = view["tasks"]
    assert task["state"]["result_state"] == "SUCCESS", task["state"].get("state_message")
    seen = json.loads(task["podium_exit_value"])
    assert seen["load"] == seen["rest_load"]
    assert seen["load"]["cores"] == 2 and seen["load"]["active_jobs"] == 1, seen["load"]
    assert seen["load"]["pending"] >= 1, seen["load"]  # a stage of six tasks on two cores
    fields = ["jobId", "status", "numTasks", "numCompletedTasks", "numSkippedTasks",
              "stageIds", "jobTags"]
    assert [{f: j[f] for f in fields} for j in seen["jobs"]] == \
        [{f: j[f] for f in fields} for j in seen["rest_jobs"]]
    assert len(seen["jobs"]) >= 2
    assert seen["stages"] == [{f: s[f] for f in seen["stages"][0]} for s in seen["rest_stages"]]
    jvm, servlet = seen["jvm"], seen["servlet"]
    assert servlet["heap_max"] == [jvm["heap_max"]]
    assert 0 < jvm["heap_live"] < jvm["heap_max"]  # the driver has collected by now
    assert jvm["gc_ms"] >= servlet["gc_ms"] > 0  # read after the servlet, never less
    read = seen["read_from_servlet"]  # what podium reads where AppStatus is not there
    assert read["heap_max"] == jvm["heap_max"] and 0 < read["heap_live"] < read["heap_max"]
    assert jvm["gc_ms"] >= read["gc_ms"] >= servlet["gc_ms"]
