"""`spark_jar_task`: `main_class_name`'s `main(String[])`, from the jars of the task and its
cluster (`libraries: - jar:` or `- maven:`), called on the cluster's own driver JVM with
`parameters` as its arguments.

The class gets the running application from `SparkSession.builder().getOrCreate()`, as on
Databricks, and its Spark jobs carry the task's job group and tags (the call runs in the
JVM thread paired with the task's thread), so cancel and timeout stop them. What the
class prints with `System.out` goes to the cluster's log (`logs/clusters/`), not the
task's. A Spark Connect cluster has no driver JVM podium can call into: there the task
fails saying so.
"""

from __future__ import annotations

from typing import Any

from podium.runtime.context import TaskContext
from podium.spec.models import Task


class JarTaskError(RuntimeError):
    """The main class could not be found or called, or it threw."""


def execute(task: Task, ctx: TaskContext, render: Any) -> str | None:
    """Call the main class with the rendered parameters; a throw fails the task."""
    spec = task.spark_jar_task
    spark = ctx.start_spark()
    jvm = getattr(spark, "_jvm", None)
    if jvm is None:
        raise JarTaskError(f"task '{task.task_key}' is a spark_jar_task, which needs a "
                           "classic driver; its cluster is a Spark Connect server, whose JVM "
                           "podium cannot call into: give the task a job cluster of its own")
    from py4j.protocol import Py4JJavaError

    name = spec.main_class_name
    try:
        main_class = jvm.org.apache.spark.util.Utils.classForName(name, True, False)
    except Py4JJavaError:
        raise JarTaskError(f"class '{name}' is not in the cluster's jars; add its jar to the "
                           "task's libraries (- jar: ./build/app.jar)") from None
    gateway = spark.sparkContext._gateway
    args = gateway.new_array(jvm.java.lang.String, len(spec.parameters))
    for i, value in enumerate(spec.parameters):
        args[i] = str(render(value))
    signature = gateway.new_array(jvm.java.lang.Class, 1)
    signature[0] = jvm.java.lang.Class.forName("[Ljava.lang.String;")
    call = gateway.new_array(jvm.java.lang.Object, 1)
    call[0] = args
    try:
        main_class.getMethod("main", signature).invoke(None, call)
    except Py4JJavaError as exc:
        thrown = exc.java_exception
        cause = thrown.getCause() if thrown.getClass().getName().endswith(
            "InvocationTargetException") and thrown.getCause() is not None else thrown
        raise JarTaskError(f"{name}.main threw {cause.toString()}") from None
    return None
