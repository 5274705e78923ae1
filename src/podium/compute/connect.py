"""Clusters reached through Spark Connect: a server podium starts for a job cluster
(the second, third… differently configured cluster of a process, since only one classic
driver fits in a process), or an existing `sc://` server it attaches to and never stops.

Each task gets its own Spark Connect session (isolated like `newSession()`); its work is
tagged with `addTag`, and a cancel or timeout calls `interruptTag` on every session that
carries the tag.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from podium import defaults, samples
from podium.compute import spark_mode, spark_status
from podium.compute.catalog import WRITER_CONF, WarehouseCatalog
from podium.compute.cluster_conf import PYTHON_ENV, spark_conf, worker_python
from podium.compute.errors import ClusterError
from podium.compute.sizing import cluster_log_path, cores_of, task_slots
from podium.compute.standalone import check_master
from podium.jvm import jars
from podium.spec.models import ClusterSpec

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
START_TIMEOUT_SECONDS = 180
LOCAL_ONLY = ("spark.master", "spark.remote", defaults.MAX_CONCURRENT_TASKS_CONF)
# A server binds port 0 and says where it landed: a port picked beforehand can be taken
# by another process first, and then podium would talk to that one.
CONNECT_PORT = re.compile(r"Spark Connect server started at: \S*:(\d+)")
UI_PORT = re.compile(r"'SparkUI' on port (\d+)")


def spark_home() -> Path:
    """The pip package's Spark: its bin/spark-submit and jars."""
    import pyspark

    return Path(pyspark.__file__).parent


def close_session(session: Any) -> None:
    """Stop a Spark Connect session (one whose server is already gone is fine), and spare
    it the second close its finalizer would make: PySpark's `__del__` closes the client's
    gRPC channel again, taking the channel's lock in whichever thread drops the last
    reference, whenever that is; in a task's thread that has deadlocked against the
    release calls PySpark sends from its shared thread pool (the class of SPARK-52076)."""
    with contextlib.suppress(Exception):
        session.stop()
    client = getattr(session, "_client", None)
    if client is not None and getattr(client, "is_closed", False):
        client.close = lambda: None  # this client only: it is closed already


def with_session(url: str, session_id: str) -> str:
    """A Connect address that opens (or rejoins) the server-side session `session_id`."""
    return f"{url.rstrip('/')}{'' if ';' in url else '/'};session_id={session_id}"


def _without(url: str, name: str) -> str:
    """A Connect address without its parameter `name`."""
    head, *params = url.split(";")
    return ";".join([head, *(p for p in params if not p.startswith(f"{name}="))])


def parameter(url: str, name: str) -> str | None:
    """The value of a Connect address's parameter `name` (`token`, ...), if it has one."""
    for param in url.split(";")[1:]:
        if param.startswith(f"{name}="):
            return param[len(name) + 1:]
    return None


def endpoint(url: str) -> str:
    """The `host:port` a Connect address points at."""
    return url.removeprefix("sc://").split(";")[0].split("/")[0]


# How long a driver or server that stopped accepting connections is given to show its exit.
DYING_SECONDS = 5.0


def await_dying(process: subprocess.Popen[Any], url: str | None) -> None:
    """Give a process that no longer accepts connections at its Connect address a moment
    to show its exit: after a task's error, which can come first (a retry would otherwise
    meet it dead)."""
    if process.poll() is None and url and not_answering(url):
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(DYING_SECONDS)


def not_answering(url: str, timeout: float = 1.0) -> str | None:
    """Why nothing accepts connections at a Connect address (refused, no route), or None
    when something does, or when it is only slow to answer (slow is not dead)."""
    host, _, port = endpoint(url).rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout):
            return None
    except TimeoutError:
        return None
    except OSError as exc:
        return f"its Spark Connect server at {host}:{port} does not answer " \
               f"({exc.strerror or exc})"


def shown(url: str) -> str:
    """A Connect address fit to print or store in a message: without its token."""
    return _without(url, "token")


def without_session(url: str) -> str:
    """A Connect address without the `session_id` parameter `with_session` added."""
    return _without(url, "session_id")


def interrupt_session(url: str, session_id: str) -> None:
    """Stop every operation of session `session_id` on the server at `url` (a task in
    another process), then release the session. The server keeps a session and its
    operations after its client dies, so this is how its Spark work ends."""
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    spark_mode.set_thread(remote=True)
    with contextlib.suppress(Exception):  # a server that is gone has nothing running
        session = ConnectSession.builder.remote(with_session(url, session_id)).create()
        session.interruptAll()
        close_session(session)


class ConnectCluster:
    """A Spark Connect server for one cluster spec (started here, or attached to)."""

    kind = "connect"

    def __init__(self, key: str, spec: ClusterSpec,
                 address: Callable[[], str] | None = None):
        self.key, self.spec = key, spec
        self.url: str | None = spec.remote
        self.attached = spec.remote is not None or address is not None
        self.spec_known = True  # False for a shared cluster another bundle defines
        self.address = address  # where a server started elsewhere is, asked at start
        self.process: subprocess.Popen[bytes] | None = None
        self.application_id: str | None = None
        self.startup_seconds: float | None = None
        self._sessions: dict[str, list[Any]] = {}  # tag -> sessions carrying it
        self._open: list[Any] = []  # every session not yet released
        self._lock = threading.Lock()
        self.slots = task_slots(spec)
        self.catalog = WarehouseCatalog(defaults.warehouse_dir())
        self.ui_url: str | None = None  # the monitoring API, when the server has a UI
        self.connect_url: str | None = spec.remote  # for tasks in their own processes
        self.session_conf: dict[str, str] = {}  # set on every session this opens
        self._jobs: tuple[float, list[Any]] = (0.0, [])
        self._ui_port: str | None = None  # where a server podium started put its UI
        self._stopping = False  # a stop under way: its server's exit is no surprise

    @property
    def log_path(self) -> Path:
        """Where the server's own output goes."""
        return cluster_log_path(self.key)

    def start(self) -> None:
        """Start the server (or check the one to attach to) and learn its application id."""
        began = time.monotonic()
        self._stopping = False
        if self.address is not None:
            self.url = self.connect_url = self.address()
        elif not self.attached:
            self._start_server()
        try:
            session = self.new_session()
            self.application_id = session.conf.get("spark.app.id")
            # A server started elsewhere (a shared cluster) tags its Delta commits itself.
            self.catalog.writer = session.conf.get(WRITER_CONF, None) or self.catalog.writer
            ui_port = self._ui_port or session.conf.get("spark.ui.port", None)
            if ui_port not in (None, "0") and session.conf.get("spark.ui.enabled",
                                                               "true") == "true":
                host = endpoint(self.url).rsplit(":", 1)[0]
                self.ui_url = f"http://{host}:{ui_port}"
            if self.process is not None and jars.delta_enabled(self.spec):
                samples.ensure(session)  # once per machine, by a server podium started
            session.stop()
        except Exception as exc:
            self.stop()
            raise ClusterError(f"cluster '{self.key}': cannot open a Spark Connect session at "
                               f"{shown(self.url)}: {str(exc).splitlines()[0]}") from exc
        self.startup_seconds = time.monotonic() - began
        spark_status.warm_up(self._status)

    def _start_server(self) -> None:
        home = spark_home()
        try:
            check_master(self.spec.master)
            jvm = spark_conf(self.spec)
        except ClusterError as exc:
            raise ClusterError(f"cluster '{self.key}' failed to start: {exc}") from exc
        token = secrets.token_hex(16)  # only podium's own clients hold it
        conf = {
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": "0",
            "spark.ui.port": "0",
            "spark.scheduler.mode": "FAIR",
            "spark.sql.warehouse.dir": str(defaults.warehouse_dir()),
            "spark.sql.catalogImplementation": "in-memory",  # the warehouse is the catalog
            "spark.ui.showConsoleProgress": "false",
            WRITER_CONF: self.catalog.writer,
            **{str(k): str(v) for k, v in self.spec.spark_conf.items() if k not in LOCAL_ONLY},
            **jvm,
        }
        command = [str(home / "bin" / "spark-submit"), "--class", SERVER_CLASS,
                   "--master", self.spec.master, "--name", f"podium:{self.key}"]
        for name, value in conf.items():
            command += ["--conf", f"{name}={value}"]
        command.append("spark-internal")
        # Python UDFs of Connect clients run in `worker_python`: podium's unless told
        env = {**os.environ, "SPARK_HOME": str(home),
               **{str(k): str(v) for k, v in self.spec.spark_env_vars.items()},
               PYTHON_ENV: worker_python(self.spec),
               "SPARK_CONNECT_AUTHENTICATE_TOKEN": token}  # not on the command line
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            offset = log.tell()  # this start's lines come after
            self.process = subprocess.Popen(command, stdout=log, stderr=log,
                                            stdin=subprocess.DEVNULL, env=env,
                                            start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while (port := self._logged(CONNECT_PORT, offset)) is None:
            if self.process.poll() is not None:
                raise ClusterError(f"cluster '{self.key}': the Spark Connect server exited "
                                   f"with code {self.process.returncode}: {self._log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise ClusterError(f"cluster '{self.key}': the Spark Connect server did not "
                                   f"listen within {START_TIMEOUT_SECONDS}s; see {self.log_path}")
            time.sleep(0.2)
        self._ui_port = self._logged(UI_PORT, offset)
        # `localhost` with a token: pyspark's loopback credentials, no TLS needed
        self.url = f"sc://localhost:{port}/;token={token}"
        self.connect_url = self.url

    def _logged(self, pattern: re.Pattern[str], offset: int) -> str | None:
        """What `pattern` captured in the server's log since `offset`, once it is there."""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            found = pattern.search(log.read().decode(errors="replace"))
        return found.group(1) if found else None

    def _log_tail(self) -> str:
        try:
            lines = [ln for ln in self.log_path.read_text(errors="replace").splitlines()
                     if ln.strip()]
        except OSError:
            return "no log"
        errors = [ln for ln in lines if "Exception" in ln or "Error" in ln]
        return (errors or lines or ["no output"])[-1].strip()

    def new_session(self, own: bool = False) -> Any:
        """A new Spark Connect session: its own conf, temp views and current database.
        `own`: never the server-side session a task's process was handed (its address
        names one), so closing it leaves the task's."""
        # The Connect class itself: the generic builder picks a kind from process state.
        from pyspark.sql.connect.session import SparkSession as ConnectSession

        spark_mode.set_thread(remote=True)
        url = without_session(self.url) if own else self.url
        session = ConnectSession.builder.remote(url).create()
        for name, value in self.session_conf.items():
            session.conf.set(name, value)
        with self._lock:
            self._open.append(session)
        self.catalog.sync(session)
        return session

    def connect_session(self, tag: str) -> Any:
        """A session for work only Connect clients can do (every session is one here),
        tagged `tag` so cancelling the tag interrupts it."""
        session = self.new_session(own=True)
        self.bind_thread(session, tag, [tag])
        return session

    def release_connect(self, tag: str, session: Any, stopped: bool = False) -> None:
        """Close a session `connect_session` opened (a stopped task's operations were
        interrupted by its tag already); for a task that was `stopped`, also kill the jobs
        its server-side work still starts for a while after (a pipeline flow planned when
        the update was interrupted starts its job late, and would hold the cluster's
        cores for as long as it runs), as the classic driver does."""
        marker = f"_Session_{session.session_id}_"  # in every job tag of the session
        self.release(session)
        if stopped and self.ui_url and self.application_id:
            threading.Thread(target=self._kill_late_jobs, args=(marker,), daemon=True,
                             name=f"podium-late-jobs-{tag}").start()

    def _kill_late_jobs(self, marker: str) -> None:
        """Kill jobs whose tag contains `marker` as they start, for `LATE_JOBS_SECONDS`."""
        deadline = time.monotonic() + defaults.LATE_JOBS_SECONDS
        while time.monotonic() < deadline and self.ui_url:
            spark_status.kill_running(self.ui_url, self.application_id, marker)
            time.sleep(0.5)

    def release(self, session: Any) -> None:
        """Close a task's session when the task is done with it."""
        with self._lock:
            if session in self._open:
                self._open.remove(session)
            for tagged in self._sessions.values():
                if session in tagged:
                    tagged.remove(session)
        close_session(session)

    def bind_thread(self, session: Any, group: str, tags: list[str]) -> None:
        """Tag the session's operations from this thread, for cancel."""
        spark_mode.set_thread(remote=True)
        for tag in tags:
            session.addTag(tag)
            with self._lock:
                self._sessions.setdefault(tag, []).append(session)

    def cancel(self, tag: str) -> None:
        """Interrupt every operation tagged `tag`, in every session carrying it."""
        with self._lock:
            sessions = self._sessions.pop(tag, [])
        for session in sessions:
            with contextlib.suppress(Exception):  # a closed session has nothing to stop
                session.interruptTag(tag)

    def progress(self, group: str) -> tuple[int, int, int, int]:
        """(jobs, active jobs, tasks done, tasks total) of a task, from the server's
        monitoring API (read at most once a second for all tasks)."""
        when, jobs = self._jobs
        if time.monotonic() - when > 1.0:
            jobs = spark_status.all_jobs(self._status)
            self._jobs = (time.monotonic(), jobs)
        return spark_status.progress(jobs, group)

    @property
    def _status(self) -> spark_status.Reader | None:
        """The server's jobs and stages, from its monitoring API (None without a UI)."""
        return spark_status.rest(self.ui_url, self.application_id)

    def usage(self, tags: set[str]) -> dict[str, dict[str, int]]:
        """What the Spark work of each tag used (see `spark_status.usage`)."""
        return spark_status.usage(self._status, tags, cores_of(self.spec.master))

    def exit_reason(self, after_error: bool = False) -> str | None:
        """Why a server podium started is gone (with its log's last error), or why one
        started elsewhere no longer accepts connections; None while it runs.
        `after_error`: a task just failed; a server of podium's that no longer accepts
        connections is given a moment for its exit to show."""
        process = self.process
        if process is None and self.attached and self.url and not self._stopping:
            return not_answering(self.url)
        if process is None or self._stopping:
            return None
        if after_error:
            await_dying(process, self.url)
        if process.poll() is None:
            return None
        return f"its Spark Connect server exited (code {process.returncode}): " \
               f"{self._log_tail()}"

    def discard(self) -> None:
        """Forget a server that died. Its sessions' channels are closed here, without a
        call to the server (a call would retry against nothing for minutes, and so would
        PySpark's clean-up of each session when the process exits); calls still waiting on
        them end at once."""
        with self._lock:
            dead, self._open, self._sessions = self._open, [], {}
        for session in dead:
            client = getattr(session, "client", None)
            if client is not None:
                client._closed = True  # no clean-up calls at exit
                with contextlib.suppress(Exception):
                    client._channel.close()
        self.process = None

    def stop(self) -> None:
        """Close open sessions, then stop a server podium started (an attached one is
        left running). Sessions go first: a client whose server is gone retries for a
        long time when the interpreter exits."""
        self._stopping = True
        with self._lock:
            still_open, self._open = self._open, []
        for session in still_open:
            close_session(session)
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
