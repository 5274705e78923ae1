"""The embedded cluster: classic Spark in this process, one application reused by tasks.

Each task gets `newSession()` (its own SQL conf, temp views, current database; the same
executors and cache), its own FAIR pool, and its Spark work carries a job group and tags
so a cancel or timeout stops exactly its jobs.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from podium import defaults, samples
from podium.compute import spark_mode, spark_status
from podium.compute.catalog import WRITER_CONF, WarehouseCatalog
from podium.compute.cluster_conf import (
    CONNECT_PLUGIN,
    PLUGINS,
    PYTHON_ENV,
    plugins,
    spark_conf,
    worker_python,
)
from podium.compute.connect import await_dying, close_session
from podium.compute.errors import ClusterError
from podium.compute.sizing import cluster_log_path, task_slots
from podium.compute.standalone import check_master
from podium.jvm import jars
from podium.spec.models import ClusterSpec

_driver_lock = threading.Lock()
_driver_owner: ClassicCluster | None = None


def driver_in_use() -> bool:
    """Whether this process already runs its one classic Spark driver."""
    return _driver_owner is not None


_early: dict[str, ClassicCluster] = {}


def prelaunch(key: str, spec: ClusterSpec) -> None:
    """Start the classic driver for cluster `key` now, in the background, so the JVM
    starts while the caller still sets up (history, admission); the cluster manager
    adopts it when it asks for that cluster."""
    if driver_in_use() or _early:
        return
    # PySpark's packages import each other in a circle: imported by two threads at once,
    # one of them gets a half-made module, so the caller's thread imports them first.
    import pyspark.sql.connect.streaming.readwriter
    import pyspark.sql.streaming.readwriter  # noqa: F401

    cluster = ClassicCluster(key, spec)
    cluster._early_start = threading.Thread(target=cluster._start_early, daemon=True,
                                            name=f"podium-prelaunch-{key}")
    _early[key] = cluster
    cluster._early_start.start()


def adopt(key: str, spec: ClusterSpec) -> ClassicCluster | None:
    """The prelaunched cluster for `key`, if its spec is this one."""
    cluster = _early.get(key)
    if cluster is None or cluster.spec != spec:
        return None
    del _early[key]
    return cluster


def _end_jvm() -> None:
    """End the JVM of a stopped driver and make PySpark forget it: PySpark reuses the
    first JVM it started for every later SparkContext (with the first one's jars and
    options) and never ends it. Returns as the JVM begins to end."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    if gateway is None or SparkContext._active_spark_context is not None:
        return
    SparkContext._gateway = None
    SparkContext._jvm = None
    with contextlib.suppress(Exception):
        gateway.shutdown()
    process = getattr(gateway, "proc", None)
    if process is not None and process.poll() is None:
        with contextlib.suppress(OSError):
            process.stdin.close()  # the JVM ends when its stdin closes
        # Its shutdown takes some 0.4 s; waited for beside the caller's own work, and
        # before this process exits (not a daemon thread).
        threading.Thread(target=_reap, args=(process,), name="podium-jvm-end").start()


def _reap(process: subprocess.Popen[bytes]) -> None:
    """Wait for an ending JVM; kill one that has not ended in ten seconds."""
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _stop_session(root: Any) -> None:
    """Stop the driver without waiting for PySpark's accumulator server: its thread sees
    a shutdown only at its next poll (half a second, a second once the driver has sent an
    update), and `SparkContext.stop` waits for that, so every cold run ended that late.
    The server is taken from the context first and shut down in the background after
    the driver stopped, so no update from it can be missed; the driver's connection to it
    then ends with its JVM, which the server would report as an error."""
    context = root.sparkContext
    server = getattr(context, "_accumulatorServer", None)
    context._accumulatorServer = None
    root.stop()
    if server is not None:
        server.server_shutdown = True
        server.handle_error = lambda request, address: None
        threading.Thread(target=server.shutdown, daemon=True,
                         name="podium-accumulators-stop").start()


class ClassicCluster:
    """A classic SparkSession in this process, for one job cluster spec."""

    kind = "classic"

    def __init__(self, key: str, spec: ClusterSpec):
        self.key, self.spec = key, spec
        self.root: Any = None
        self.application_id: str | None = None
        self.started_at: float | None = None
        self.startup_seconds: float | None = None
        self.slots = task_slots(spec)
        self.catalog = WarehouseCatalog(defaults.warehouse_dir(), make_managed=self._make_managed)
        self.connect_url: str | None = None  # for tasks in their own processes
        self._jobs: tuple[float, list[Any]] = (0.0, [])
        self._connect_sessions: dict[str, list[Any]] = {}  # by task tag, for cancel
        self._connect_lock = threading.Lock()
        self._late_tags: dict[str, float] = {}  # job tag -> until when its jobs are cancelled

    _early_start: threading.Thread | None = None
    _bind: Any = None  # podium's TaskThreads.bind, when the cluster has podium's jar
    _read: spark_status.Reader | None = None  # the application's jobs and stages
    # its load counts from the status store, when podium's jar is there
    _load: Callable[[], dict[str, int]] | None = None
    _early_error: Exception | None = None

    def _start_early(self) -> None:
        try:
            self._start()
        except Exception as exc:  # said when the manager starts it for real
            self._early_error = exc

    def start(self) -> None:
        """Start the Spark application (blocking; the manager calls it off the loop). A
        prelaunched cluster only waits for its start to finish."""
        if self._early_start is not None:
            self._early_start.join()
            self._early_start = None
            if self._early_error is not None:
                raise self._early_error
            return
        self._start()

    def _start(self) -> None:
        global _driver_owner
        with _driver_lock:
            if _driver_owner is not None and _driver_owner is not self:
                raise ClusterError(
                    f"cluster '{self.key}' needs its own Spark application, but this process "
                    f"already runs '{_driver_owner.key}' as its one classic driver; several "
                    "job clusters per job need Spark Connect")
            _driver_owner = self
        began = time.monotonic()
        python = worker_python(self.spec)
        for name, value in self.spec.spark_env_vars.items():
            os.environ[str(name)] = str(value)
        os.environ[PYTHON_ENV] = python  # read by SparkContext when it starts
        conf = {
            "spark.scheduler.mode": "FAIR",
            "spark.sql.warehouse.dir": str(defaults.warehouse_dir()),
            "spark.sql.catalogImplementation": "in-memory",  # the warehouse is the catalog
            "spark.ui.showConsoleProgress": "false",
            WRITER_CONF: self.catalog.writer,
            **{str(k): str(v) for k, v in self.spec.spark_conf.items()
               if k not in ("spark.master", "spark.remote")},
        }
        token = secrets.token_hex(16)
        try:
            check_master(self.spec.master)
            conf.update(spark_conf(self.spec))
            conf.update({  # Spark Connect on the driver, for tasks in their own processes
                PLUGINS: plugins(conf, CONNECT_PLUGIN),
                "spark.connect.grpc.binding.address": "127.0.0.1",
                "spark.connect.grpc.binding.port": "0",  # a free one, chosen as it binds
                "spark.connect.authenticate.token": token,
            })
            self.root = self._launch(conf)
        except Exception as exc:
            with _driver_lock:
                _driver_owner = None
            raise ClusterError(f"cluster '{self.key}' failed to start: {exc}") from exc
        self.root.sparkContext.setLogLevel("ERROR")
        if jars.delta_enabled(self.spec):
            samples.ensure(self.root)  # once per machine
        self.application_id = self.root.sparkContext.applicationId
        self._bind = _task_threads_bind(self.root)
        _remember_session_lookups()
        self._read, self._load = _status_store(self.root) or (None, None)
        service = getattr(self.root._jvm.org.apache.spark.sql.connect.service,
                          "SparkConnectService$")
        port = getattr(service, "MODULE$").localPort()
        self.connect_url = f"sc://localhost:{port}/;token={token}"
        self.started_at = time.time()
        self.startup_seconds = time.monotonic() - began
        if self._read is None:
            self._read = spark_status.rest(self.root.sparkContext.uiWebUrl,
                                           self.application_id)
            spark_status.warm_up(self._read)

    def _launch(self, conf: dict[str, str]) -> Any:
        """Start the JVM with its own output in the cluster's log (not on the terminal),
        then the application and its root session."""
        spark_mode.set_thread(remote=False)
        from pyspark import SparkConf, SparkContext
        from pyspark.java_gateway import launch_gateway
        from pyspark.sql import SparkSession

        spark_conf = SparkConf().setMaster(self.spec.master).setAppName(f"podium:{self.key}")
        spark_conf.setAll(list(conf.items()))
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            gateway = launch_gateway(spark_conf, popen_kwargs={"stdout": log, "stderr": log})
        _end_jvm()  # PySpark keeps using its first JVM while it knows one
        context = SparkContext(conf=spark_conf, gateway=gateway)
        return SparkSession(context)

    @property
    def log_path(self) -> Path:
        """Where the JVM's own output goes."""
        return cluster_log_path(self.key)

    @property
    def ui_url(self) -> str | None:
        """The application's Spark UI, while it runs (None when the UI is disabled)."""
        return self.root.sparkContext.uiWebUrl if self.root is not None else None

    def new_session(self) -> Any:
        """An isolated session on the shared application."""
        spark_mode.set_thread(remote=False)
        session = self.root.newSession()
        self.catalog.sync(session)
        return session

    def connect_session(self, tag: str) -> Any:
        """A Spark Connect session on this application (its driver serves Connect) for the
        task tagged `tag`, for work only Connect clients can do: Spark Declarative
        Pipelines."""
        from pyspark.sql.connect.session import SparkSession as ConnectSession

        spark_mode.set_thread(remote=True)
        session = ConnectSession.builder.remote(self.connect_url).create()
        session.addTag(tag)
        with self._connect_lock:
            self._connect_sessions.setdefault(tag, []).append(session)
        self.catalog.sync(session)
        return session

    def release_connect(self, tag: str, session: Any, stopped: bool = False) -> None:
        """Close a session `connect_session` opened; for a task that was `stopped`, also
        cancel the jobs its server-side work still starts for a while after (a pipeline
        flow that was being planned when the update was interrupted starts its job late,
        and would hold the cluster's cores for as long as it runs)."""
        job_tag = None
        if stopped:
            user = getattr(session.client, "_user_id", None) or ""
            job_tag = (f"SparkConnect_SessionTag_User_{user}_Session_{session.session_id}"
                       f"_Tag_{tag}")  # as the Connect server tags the session's jobs
        with self._connect_lock:
            if session in self._connect_sessions.get(tag, []):
                self._connect_sessions[tag].remove(session)
        close_session(session)
        if job_tag and self.root is not None:
            self._cancel_late(job_tag)

    def _cancel_late(self, job_tag: str) -> None:
        """Cancel jobs tagged `job_tag` as they start, for `LATE_JOBS_SECONDS`; one thread
        per cluster watches every such tag while there is any."""
        with self._connect_lock:
            idle = not self._late_tags
            self._late_tags[job_tag] = time.monotonic() + defaults.LATE_JOBS_SECONDS
        if idle:
            threading.Thread(target=self._cancel_late_jobs, daemon=True,
                             name=f"podium-late-jobs-{self.key}").start()

    def _cancel_late_jobs(self) -> None:
        while True:
            with self._connect_lock:
                now = time.monotonic()
                self._late_tags = {t: end for t, end in self._late_tags.items() if end > now}
                tags = list(self._late_tags)
            if not tags:
                return
            try:
                context = self.root.sparkContext._jsc.sc()
                for tag in tags:
                    context.cancelJobsWithTag(tag)
            except Exception:  # the application stopped: nothing is left to cancel
                with self._connect_lock:
                    self._late_tags.clear()
                return
            time.sleep(0.5)

    def _make_managed(self, database: str, table: str) -> None:
        """Mark a registered table managed in the driver's catalog (SQL cannot create a
        managed table over existing files): a copy of its entry with only the type changed."""
        jvm = self.root._jvm
        catalog = self.root._jsparkSession.sharedState().externalCatalog()
        entry = catalog.getTable(database, table)
        fields = self.root.sparkContext._gateway.new_array(jvm.java.lang.Object,
                                                            entry.productArity())
        for i in range(entry.productArity()):
            fields[i] = entry.productElement(i)
        fields[1] = jvm.org.apache.spark.sql.catalyst.catalog.CatalogTableType.MANAGED()
        catalog.alterTable(entry.getClass().getConstructors()[0].newInstance(fields))

    def release(self, session: Any) -> None:
        """Nothing to close: a `newSession()` holds no resources of its own."""

    def bind_thread(self, session: Any, group: str, tags: list[str]) -> None:
        """Give the calling thread's Spark jobs this task's group, tags and FAIR pool. The
        task's session becomes its JVM thread's active one, as the driver's is on
        Databricks: Spark looks catalogs up (`setCurrentCatalog`) through it."""
        spark_mode.set_thread(remote=False)
        pool = group.split("-child-")[0]
        if self._bind is not None:  # podium's jar: one Py4J round trip instead of seven
            self._bind(session._jsparkSession, group, f"podium task {group}", ",".join(tags),
                       pool)
            return
        session._jvm.org.apache.spark.sql.SparkSession.setActiveSession(session._jsparkSession)
        sc = session.sparkContext
        sc.setJobGroup(group, f"podium task {group}", interruptOnCancel=True)
        sc.clearJobTags()
        for tag in tags:
            sc.addJobTag(tag)
        sc.setLocalProperty("spark.scheduler.pool", pool)

    def cancel(self, tag: str) -> None:
        """Cancel every job tagged `tag` (the task's own and its child notebooks'), and
        close the task's Connect sessions: the driver then stops what runs for them in
        sessions of their own (a pipeline update's flows). A job the task's code submits
        after this (its call was already on its way to a busy driver) is cancelled as it
        starts, for `LATE_JOBS_SECONDS`: nothing else would ever stop it."""
        if self.root is not None:
            sc = self.root.sparkContext
            sc.cancelJobsWithTag(tag)
            sc.cancelJobGroup(tag)
            self._cancel_late(tag)
        with self._connect_lock:
            sessions = self._connect_sessions.pop(tag, [])
        for session in sessions:
            with contextlib.suppress(Exception):  # one closed already has nothing to stop
                session.interruptTag(tag)
                session.stop()

    def progress(self, group: str) -> tuple[int, int, int, int]:
        """(jobs, active jobs, tasks done, tasks total) of a task's job group; a task in
        its own process (attached through Spark Connect) has no group here, so its jobs
        are found by tag in the monitoring API (read at most once a second)."""
        if self.root is None:
            return (0, 0, 0, 0)
        found = self._group_progress(group)
        if found[0] or self._read is None:
            return found
        when, jobs = self._jobs
        if time.monotonic() - when > 1.0:
            jobs = spark_status.all_jobs(self._read)
            self._jobs = (time.monotonic(), jobs)
        return spark_status.progress(jobs, group)

    def _group_progress(self, group: str) -> tuple[int, int, int, int]:
        tracker = self.root.sparkContext.statusTracker()
        jobs = active = done = total = 0
        for job_id in tracker.getJobIdsForGroup(group):
            info = tracker.getJobInfo(job_id)
            if info is None:
                continue
            jobs += 1
            active += info.status == "RUNNING"
            for stage_id in info.stageIds:
                stage = tracker.getStageInfo(stage_id)
                if stage is not None:
                    done += stage.numCompletedTasks
                    total += stage.numTasks
        return (jobs, active, done, total)

    def usage(self, tags: set[str]) -> dict[str, dict[str, int]]:
        """What the Spark work of each tag used (see `spark_status.usage`)."""
        if self.root is None:
            return {}
        return spark_status.usage(self._read, tags, self.root.sparkContext.defaultParallelism)

    def load_counts(self) -> dict[str, int] | None:
        """Executor cores and running tasks, pending tasks and running jobs, from the
        status store, and the driver's live heap, heap maximum and GC milliseconds (see
        `cluster_load`); None where only the REST API can tell."""
        return self._load() if self.root is not None and self._load is not None else None

    def active_job_ids(self) -> list[int]:
        """Spark jobs running now on this application."""
        if self.root is None:
            return []
        return list(self.root.sparkContext.statusTracker().getActiveJobsIds())

    def exit_reason(self, after_error: bool = False) -> str | None:
        """Why the driver's JVM is gone, or None while it runs. `after_error`: a task just
        failed, maybe because the JVM is dying; if it no longer accepts connections, wait
        for its exit to show rather than take it for alive (a retry would meet it dead)."""
        from pyspark import SparkContext

        process = getattr(SparkContext._gateway, "proc", None)
        if self.root is None or process is None:
            return None
        if after_error:
            await_dying(process, self.connect_url)
        if process.poll() is None:
            return None
        return f"its driver JVM exited (code {process.returncode})"

    def discard(self) -> None:
        """Forget a driver whose JVM died, so that the next classic cluster of the process
        starts a JVM of its own (stopping it would only call the dead JVM)."""
        global _driver_owner
        from pyspark import SparkContext
        from pyspark.sql import SparkSession

        self.root = None
        SparkContext._active_spark_context = None
        SparkSession._instantiatedSession = None
        SparkSession._activeSession = None
        _end_jvm()
        self.connect_url = None
        with _driver_lock:
            if _driver_owner is self:
                _driver_owner = None

    def stop(self) -> None:
        """Stop the application and free the process's classic driver."""
        global _driver_owner
        if self.root is not None:
            _stop_session(self.root)
            self.root = None
            _end_jvm()  # its memory back; the next classic cluster starts a JVM of its own
        self.connect_url = None
        with _driver_lock:
            if _driver_owner is self:
                _driver_owner = None


def _status_store(root: Any) -> tuple[spark_status.Reader, Callable[[], Any]] | None:
    """Readers of the driver's status store through podium's `AppStatus` (the monitoring
    API's JSON without its REST layer, whose first answer costs the driver a second of
    CPU and more): of jobs and stages, and of the load counts with the driver JVM's heap
    and collections; None on a cluster started without podium's jar or without a UI."""
    from py4j.java_gateway import JavaClass
    from py4j.protocol import Py4JError

    found = root._jvm.podium.spark.AppStatus
    context = root.sparkContext
    if not isinstance(found, JavaClass) or context.uiWebUrl is None:
        return None
    methods = {"jobs": found.jobs, "stages": found.stages, "load": found.load,
               "jvm": lambda _: found.jvm()}
    scala_context = context._jsc.sc()

    def call(kind: str) -> Any:
        try:
            return json.loads(methods[kind](scala_context))
        except Py4JError as exc:  # a driver that stopped: as an API that does not answer
            raise OSError(f"the driver does not answer: {exc}") from exc

    return call, lambda: {**call("load"), **call("jvm")}


def _remember_session_lookups() -> None:
    """Make PySpark look up its JVM session class and companion object once per JVM
    instead of on every `newSession()`: three of a task's six Py4J round trips before its
    first line ran (each a reflective lookup through the gateway)."""
    from pyspark.sql import SparkSession

    if getattr(SparkSession, "_podium_lookups", None) is not None:
        return
    looked_up: dict[str, tuple[Any, Any]] = {}  # by lookup: (the JVM view, its answer)

    def remembered(name: str, look_up: Any) -> Any:
        def lookup(jvm: Any) -> Any:
            seen = looked_up.get(name)
            if seen is None or seen[0] is not jvm:  # a new JVM after a restart
                seen = looked_up[name] = (jvm, look_up(jvm))
            return seen[1]
        return staticmethod(lookup)

    SparkSession._podium_lookups = looked_up  # type: ignore[attr-defined]
    for name in ("_get_j_spark_session_class", "_get_j_spark_session_module"):
        setattr(SparkSession, name, remembered(name, getattr(SparkSession, name)))


def _task_threads_bind(root: Any) -> Any:
    """podium's `TaskThreads.bind`, resolved once (each name looked up through Py4J is a
    round trip), or None on a cluster started without podium's jar."""
    from py4j.java_gateway import JavaClass

    found = root._jvm.podium.spark.TaskThreads  # a JavaPackage when there is no such class
    return found.bind if isinstance(found, JavaClass) else None
