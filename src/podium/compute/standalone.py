"""A Spark standalone master (`spark.master: spark://host:port[,host2:port2]`), checked
before an application is started on it: Spark itself retries registering with an absent
master for a minute while the task waits, then gives up with no word of which master."""

from __future__ import annotations

import socket

from podium.compute.errors import ClusterError

DEFAULT_PORT = 7077
CHECK_SECONDS = 5.0


def check_master(master: str, timeout: float = CHECK_SECONDS) -> None:
    """Raise ClusterError naming the master when none of a `spark://` URL's masters
    accepts a connection; any other master is left to Spark."""
    if not master.startswith("spark://"):
        return
    failures = []
    for address in master.removeprefix("spark://").split(","):
        host, _, port = address.rpartition(":") if ":" in address else (address, "", "")
        try:
            with socket.create_connection((host.strip("[]"), int(port or DEFAULT_PORT)),
                                          timeout):
                return
        except (OSError, ValueError) as exc:
            failures.append(f"{address}: {getattr(exc, 'strerror', None) or exc}")
    raise ClusterError(f"cannot reach the standalone master {master} ({'; '.join(failures)}); "
                       "start it, or correct spark.master in the cluster's spark_conf")
