"""The cluster manager starts clusters off the loop, one at a time unless configured."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time

import pytest

from podium.compute import manager as manager_module
from podium.compute.connect import ConnectCluster
from podium.compute.manager import ClusterManager, Slot
from podium.spec.models import ClusterSpec


class SlowStart:
    """A cluster whose start takes a while and notes how many start at once."""

    kind = "classic"
    slots = 1
    running = 0
    most = 0
    lock = threading.Lock()

    def __init__(self) -> None:
        self.spec = ClusterSpec()

    def start(self) -> None:
        with SlowStart.lock:
            SlowStart.running += 1
            SlowStart.most = max(SlowStart.most, SlowStart.running)
        time.sleep(0.3)
        with SlowStart.lock:
            SlowStart.running -= 1


@pytest.mark.parametrize(("setting", "expected"), [(None, 1), ("3", 3)])
def test_cluster_starts_at_once(monkeypatch, setting: str | None, expected: int) -> None:
    if setting:
        monkeypatch.setenv("PODIUM_CLUSTER_STARTS", setting)
    SlowStart.most = 0
    done: list[str] = []
    manager = ClusterManager(lambda key, error: done.append(key))
    for key in ("a", "b", "c"):
        manager.slots[key] = Slot(SlowStart())
        manager.ensure_started(key)
    deadline = time.monotonic() + 10
    while len(done) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(done) == ["a", "b", "c"]
    assert SlowStart.most == expected


class Stoppable:
    """A started cluster that notes when it is stopped."""

    kind = "classic"
    slots = 2

    def __init__(self) -> None:
        self.spec = ClusterSpec()
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True


def test_an_idle_cluster_is_kept_warm_then_stopped() -> None:
    manager = ClusterManager(lambda key, error: None, idle_seconds=30)
    cluster = Stoppable()
    manager.slots["job:main"] = Slot(cluster, state="READY", users={1})
    manager.done_with("job:main", 1)
    began = manager.slots["job:main"].idle_since
    assert began is not None and not cluster.stopped
    assert manager.reap_idle(began + 29) == [] and not cluster.stopped
    manager.register("job:main", ClusterSpec(), 2)  # a new run needs it again: not idle
    assert manager.reap_idle(began + 60) == [] and not cluster.stopped
    manager.done_with("job:main", 2)
    again = manager.slots["job:main"].idle_since
    assert manager.reap_idle(again + 30) == ["job:main"] and cluster.stopped
    assert manager.state("job:main") == "STOPPED"


DYING_SERVER = """
import socket, sys, time
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
print(listener.getsockname()[1], flush=True)
sys.stdin.readline()  # told to die: it stops listening first and exits a moment later
listener.close()
time.sleep(0.5)
sys.exit(3)
"""


def test_after_a_task_error_a_server_that_stopped_listening_is_waited_for() -> None:
    """A task's error can arrive before its dying server's exit shows: a retry would then
    meet the dead server. After an error, one that refuses connections is waited for."""
    process = subprocess.Popen([sys.executable, "-c", DYING_SERVER], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    port = int(process.stdout.readline())
    cluster = ConnectCluster("k", ClusterSpec())
    cluster.process, cluster.url = process, f"sc://127.0.0.1:{port}"
    manager = ClusterManager(lambda key, error: None)
    manager.slots["k"] = Slot(cluster, state="READY")
    assert manager.exit_reason("k", after_error=True) is None  # listening: a task's own error
    process.stdin.write("die\n")
    process.stdin.flush()
    time.sleep(0.1)  # no longer listening; it exits 0.4 s from now
    assert manager.exit_reason("k") is None  # the watcher's look: not yet gone
    why = manager.exit_reason("k", after_error=True)
    assert why is not None and why.startswith("its Spark Connect server exited (code 3)")


class Mortal:
    """A ready cluster whose process can be made to die."""

    kind = "classic"
    slots = 1

    def __init__(self) -> None:
        self.spec = ClusterSpec()
        self.dead = False

    def exit_reason(self, after_error: bool = False) -> str | None:
        return "its driver JVM exited (code -9)" if self.dead else None

    def discard(self) -> None:
        pass


class SlowLook(dict):
    """Slots where the watcher, having found none ready, loses the processor before it
    ends: the worst moment for a cluster to become ready."""

    def items(self):  # type: ignore[override]
        found = list(super().items())
        if threading.current_thread().name == "podium-cluster-watch" and \
                not any(slot.state == "READY" for _, slot in found):
            time.sleep(0.2)
        return found


def test_a_cluster_ready_just_as_the_watcher_ends_is_watched(monkeypatch) -> None:
    """The watcher ends when no cluster is ready; one made ready at that moment (a retry's
    fresh start right after its cluster was lost) is still watched."""
    monkeypatch.setattr(manager_module, "WATCH_SECONDS", 0.01)
    lost: queue.SimpleQueue[object] = queue.SimpleQueue()
    manager = ClusterManager(lambda key, error: None,
                             on_lost=lambda key, why, cluster: lost.put(cluster))
    manager.slots = SlowLook()
    for _ in range(3):
        cluster = Mortal()
        manager.slots["k"] = Slot(cluster)
        manager.started("k", None)
        cluster.dead = True
        assert lost.get(timeout=5) is cluster
        manager.lost("k")
        time.sleep(0.05)  # the watcher looks again, finds none ready, and is about to end


def test_a_clusters_log_stays_in_the_clusters_folder_whatever_its_key(podium_home) -> None:
    from podium.compute.sizing import cluster_log_path

    folder = podium_home / "logs" / "clusters"
    for key in ("etl:main", "../../evil:main", "shared.a/b.supervisor"):
        path = cluster_log_path(key)
        assert path.parent == folder and path.resolve().parent == folder.resolve(), key
    assert cluster_log_path("etl:main").name == "etl.main.log"
