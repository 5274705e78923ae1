"""Which cluster serves a task: lazy start off the control loop, task limits, stop after
use.

The executor calls `try_acquire`/`release`/`adapt` from its loop only; starting a cluster
happens in a background thread that reports back through the executor's event queue, and
one sampler thread reads the load of clusters that tasks wait for, which `adapt` hands to
each cluster's `concurrency.Governor` on the loop.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from podium import defaults
from podium.compute import classic, sizing
from podium.compute.classic import ClassicCluster
from podium.compute.cluster_load import LoadReader
from podium.compute.concurrency import Decision, Governor, Load
from podium.compute.connect import ConnectCluster
from podium.compute.errors import ClusterError
from podium.spec.models import ClusterSpec
from podium.threads import Ticker

DEFAULT_KEY = "default"
# Job clusters are "<job key>:<cluster key>"; no job key starts with "@" (a job named
# `shared` has the cluster "shared:default", which once read as a shared cluster).
SHARED_PREFIX = "@shared:"
SAMPLE_SECONDS = 1.0  # how often the load of a cluster that tasks wait for is read
WATCH_SECONDS = 0.5  # how often the clusters this process started are checked for life
WANT_SECONDS = 3.0  # how long after the last waiting task a cluster's load is still read


@dataclass
class Slot:
    """The state of one cluster as the manager sees it."""

    cluster: Any
    state: str = "NEW"  # NEW, STARTING, READY, FAILED, STOPPED
    error: str | None = None
    in_use: int = 0
    users: set[int] = field(default_factory=set)  # run ids still needing it
    idle_since: float | None = None  # monotonic time its last user let go (kept warm)
    governor: Governor | None = None  # its adaptive task limit, once started (else fixed)
    reader: LoadReader | None = None
    sample: tuple[float, Load | None] | None = None  # the sampler's latest read, and when
    sample_used: float = 0.0
    waiting: int = 0  # tasks refused a slot in the loop's current turn
    wanted_until: float = 0.0  # read its load until then
    decisions: deque[Decision] = field(default_factory=lambda: deque(maxlen=20))
    lost: str | None = None  # why its driver or server died under it, once noticed

    @property
    def limit(self) -> int:
        """How many tasks the cluster may run at once now."""
        return self.governor.limit if self.governor is not None else self.cluster.slots


class ClusterManager:
    """Clusters of this process, by key; concurrency is a property of each cluster."""

    def __init__(self, notify: Callable[[str, str | None], None], keep_alive: bool = False,
                 shared: Callable[[str, ClusterSpec | None], str] | None = None,
                 idle_seconds: float | None = None,
                 on_lost: Callable[[str, str, Any], None] | None = None):
        self.notify = notify  # (cluster key, error or None) once a start finishes
        # (cluster key, why, the cluster) when a ready cluster's process died
        self.on_lost = on_lost
        self.keep_alive = keep_alive  # never stop clusters (tests)
        # Keep a cluster nobody needs warm this long before stopping it (a server), so
        # the next run that needs an equal one starts without a Spark start.
        self.idle_seconds = idle_seconds
        # The address of a shared cluster by name (and its spec, if the bundle has it);
        # without it, shared clusters run in this process like job clusters.
        self.shared = shared
        self.slots: dict[str, Slot] = {}
        self._starting = threading.Semaphore(defaults.cluster_starts())
        # Told of every change of a cluster's task limit (progress, the server's log).
        self.on_decision: list[Callable[[str, Decision], None]] = []
        # Notice a ready cluster whose process died, while any is ready.
        self._watcher = Ticker("podium-cluster-watch", WATCH_SECONDS,
                               lambda: bool(self._ready()), self._watch)
        # Read the load of every cluster tasks wait for, while any is wanted.
        self._sampler = Ticker("podium-cluster-load", SAMPLE_SECONDS,
                               lambda: bool(self._wanted()), self._sample)

    def register(self, key: str, spec: ClusterSpec | None, run_id: int) -> None:
        """Note that `run_id` will need cluster `key`. A live cluster with the same spec
        is reused under the new key, so equal job clusters share one application; an idle
        one kept warm whose job has since changed the cluster's spec is replaced."""
        slot = self.slots.get(key)
        if slot is not None and spec is not None and not key.startswith(SHARED_PREFIX) \
                and slot.state == "READY" and not slot.users and slot.in_use == 0 \
                and fingerprint(slot.cluster.spec) != fingerprint(spec):
            slot.cluster.stop()
            slot.state, slot.idle_since = "STOPPED", None
        if key not in self.slots or self.slots[key].state in ("STOPPED", "FAILED"):
            if key.startswith(SHARED_PREFIX) and self.shared is not None:
                self.slots[key] = Slot(self._shared_cluster(key, spec))
            else:
                spec = spec or ClusterSpec()
                same = [s for s in self.slots.values() if s.state not in ("STOPPED", "FAILED")
                        and fingerprint(s.cluster.spec) == fingerprint(spec)]
                self.slots[key] = same[0] if same else Slot(self._new_cluster(key, spec))
        self.slots[key].users.add(run_id)
        self.slots[key].idle_since = None

    def _shared_cluster(self, key: str, spec: ClusterSpec | None) -> ConnectCluster:
        """A cluster that `podium cluster start` runs for every process: attach to it."""
        name = key.removeprefix(SHARED_PREFIX)
        shared = self.shared
        assert shared is not None
        cluster = ConnectCluster(key, spec or ClusterSpec(), address=lambda: shared(name, spec))
        cluster.spec_known = spec is not None
        return cluster

    def shared_in_use(self) -> list[str]:
        """Names of the shared clusters this process has tasks on, waits for or is
        attaching to (an attach in progress must keep auto-termination away too)."""
        return [key.removeprefix(SHARED_PREFIX) for key, slot in self.slots.items()
                if key.startswith(SHARED_PREFIX) and slot.state in ("STARTING", "READY")
                and (slot.in_use or slot.users)]

    def _new_cluster(self, key: str, spec: ClusterSpec) -> Any:
        """Classic for the first cluster of the process; Spark Connect for an `sc://`
        address and for every other differently configured cluster."""
        if spec.remote:
            return ConnectCluster(key, spec)
        early = classic.adopt(key, spec)
        if early is not None:
            return early
        classic_here = any(s.cluster.kind == "classic" and s.state not in ("STOPPED", "FAILED")
                           for s in self.slots.values())
        if classic_here or classic.driver_in_use():
            return ConnectCluster(key, spec)
        return ClassicCluster(key, spec)

    def state(self, key: str) -> str:
        """NEW, STARTING, READY, FAILED or STOPPED."""
        return self.slots[key].state

    def ensure_started(self, key: str) -> None:
        """Begin starting cluster `key` in the background if nobody has yet."""
        slot = self.slots[key]
        if slot.state != "NEW":
            return
        slot.state = "STARTING"

        def start() -> None:
            with self._starting:
                try:
                    slot.cluster.start()
                except ClusterError as exc:
                    self.notify(key, str(exc))
                    return
                except Exception as exc:  # a JVM that will not start says many things
                    self.notify(key, f"cluster '{key}' failed to start: {exc}")
                    return
            self.notify(key, None)

        threading.Thread(target=start, name=f"podium-start-{key}", daemon=True).start()

    def started(self, key: str, error: str | None) -> None:
        """Record the outcome of a start (called by the loop when notified)."""
        slot = self.slots[key]
        slot.state, slot.error = ("FAILED", error) if error else ("READY", None)
        if slot.state == "READY" and self.on_lost is not None and \
                hasattr(slot.cluster, "exit_reason"):
            self._watcher.wake()
        if slot.state != "READY" or slot.governor is not None:
            return
        spec = slot.cluster.spec
        try:
            if not sizing.adaptive(spec):
                return
        except ClusterError as exc:
            slot.state, slot.error = "FAILED", f"cluster '{key}': {exc}"
            return
        slot.governor = Governor(sizing.cores_of(spec.master), sizing.concurrency_cap(spec))
        slot.reader = LoadReader(slot.cluster)

    def _ready(self) -> dict[int, tuple[str, Slot]]:
        """Each ready cluster once (equal specs share one under several keys)."""
        return {id(s): (k, s) for k, s in list(self.slots.items()) if s.state == "READY"}

    def _watch(self) -> None:
        """Notice, within a second, a ready cluster whose driver or server died, and say
        so once (its tasks would otherwise wait on it until their timeouts)."""
        for key, slot in self._ready().values():
            if slot.lost is None and _exit_reason(slot) and self.on_lost is not None:
                self.on_lost(key, slot.lost or "", slot.cluster)

    def exit_reason(self, key: str | None, after_error: bool = False) -> str | None:
        """Why ready cluster `key`'s process is gone, or None (also for no cluster);
        `after_error` when a task on it just failed (a dying process is waited for)."""
        slot = self.slots.get(key) if key else None
        return _exit_reason(slot, after_error) if slot is not None else None

    def lost(self, key: str) -> None:
        """Forget cluster `key` whose process died (under every key that names it: equal
        specs share a cluster); the next task that needs it starts it anew."""
        slot = self.slots[key]
        if slot.state == "READY":
            slot.cluster.discard()
            slot.state, slot.idle_since, slot.in_use = "STOPPED", None, 0

    def try_acquire(self, key: str) -> Any | None:
        """A ready cluster below its task limit, taking a place; else None (and the
        refusal is counted: tasks waiting are what makes a cluster's load worth reading)."""
        slot = self.slots[key]
        if slot.state != "READY":
            return None
        if slot.in_use >= slot.limit:
            slot.waiting += 1
            return None
        slot.in_use += 1
        return slot.cluster

    def waiting_message(self, key: str) -> str:
        """What a task waiting for a place on cluster `key` is told."""
        slot = self.slots[key]
        why = f" ({slot.governor.reason})" if slot.governor is not None else ""
        return f"Waiting for a free task slot on the cluster: {slot.in_use} of " \
               f"{slot.limit} running{why}"

    def adapt(self, now: float) -> None:
        """End of a loop turn: move each cluster's task limit by its latest load sample,
        and keep its load read while tasks wait for it."""
        for key, slot in {id(s): (k, s) for k, s in self.slots.items()}.values():
            waiting, slot.waiting = slot.waiting, 0
            if slot.governor is None or slot.state != "READY":
                continue
            if waiting and slot.reader is not None:
                slot.wanted_until = now + WANT_SECONDS
                self._sampler.wake()
            sample = slot.sample
            if sample is None or sample[0] <= slot.sample_used or sample[1] is None:
                continue
            slot.sample_used = sample[0]
            decision = slot.governor.step(now, sample[1], slot.in_use, waiting)
            if decision is not None:
                slot.decisions.append(decision)
                for tell in self.on_decision:
                    tell(key, decision)

    def _wanted(self) -> list[Slot]:
        """Each ready cluster whose load tasks wait for."""
        now = time.monotonic()
        return list({id(s): s for s in list(self.slots.values()) if s.state == "READY"
                     and s.reader is not None and s.wanted_until > now}.values())

    def _sample(self) -> None:
        """Read the load of every cluster tasks wait for (once a second, while they do)."""
        for slot in self._wanted():
            assert slot.reader is not None
            slot.sample = (time.monotonic(), slot.reader.read())

    def release(self, key: str) -> None:
        """Give a task slot back."""
        self.slots[key].in_use = max(0, self.slots[key].in_use - 1)

    def done_with(self, key: str, run_id: int) -> None:
        """`run_id` needs `key` no more; stop the cluster when nobody does."""
        slot = self.slots.get(key)
        if slot is None:
            return
        slot.users.discard(run_id)
        if not slot.users and slot.in_use == 0 and slot.state == "READY" and \
                not self.keep_alive:
            # A shared cluster is not ours to keep warm: it may be stopped or restarted
            # elsewhere, so the next run attaches afresh (a Connect session, no Spark start).
            if self.idle_seconds and not key.startswith(SHARED_PREFIX):
                slot.idle_since = slot.idle_since or time.monotonic()
            else:
                slot.cluster.stop()
                slot.state = "STOPPED"

    def reap_idle(self, now: float) -> list[str]:
        """Stop clusters kept warm for longer than `idle_seconds`; their keys."""
        stopped = []
        for key, slot in list(self.slots.items()):
            if slot.idle_since is not None and now - slot.idle_since >= (self.idle_seconds or 0) \
                    and not slot.users and slot.in_use == 0 and slot.state == "READY":
                slot.cluster.stop()
                slot.state, slot.idle_since = "STOPPED", None
                stopped.append(key)
        return stopped

    def stop_all(self) -> None:
        """Stop every cluster this process started."""
        for slot in {id(s): s for s in self.slots.values()}.values():
            if slot.state == "READY":
                slot.cluster.stop()
                slot.state = "STOPPED"


def fingerprint(spec: ClusterSpec) -> str:
    """What makes two cluster specs the same application: master, conf, environment,
    libraries."""
    return json.dumps([spec.master, spec.spark_conf, spec.spark_env_vars,
                       [lib.model_dump(mode="json", exclude_none=True)
                        for lib in spec.libraries]], sort_keys=True, default=str)


def _exit_reason(slot: Slot, after_error: bool = False) -> str | None:
    """Why a ready slot's cluster process is gone (remembered on the slot), or None."""
    check = getattr(slot.cluster, "exit_reason", None)
    if slot.state != "READY" or check is None:
        return None
    slot.lost = slot.lost or check(after_error=after_error)
    return slot.lost
