"""Hosts made of network namespaces, for fault tests across machines on one machine: each
host has its own network stack, address and host name, joined to this (the root)
namespace by a veth pair on a bridge; `cut` takes a host's link down (no reset is sent,
as when a cable or a switch fails) and `mend` brings it back. Also a PostgreSQL of the
test's own listening on the bridge, the database host the others reach. Everything is
removed when the block ends, also when the test fails. Each host resolves the others'
names through an /etc/hosts of its own and has no name server (Java looks its host name
up, and a lookup that waits for an unreachable name server stalls it for seconds)."""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ETC_NETNS = Path("/etc/netns")
_NETWORKS = itertools.count()  # this process's networks, so no two share a name


def ip(*args: str) -> None:
    """Run `ip` with these arguments; fail the test saying why when it is refused."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode:
        pytest.fail(f"`ip {' '.join(args)}` failed ({done.stderr.strip()}); these tests make "
                    "network namespaces and need root and the `ip` command (iproute2)")


@dataclass
class Host:
    """One namespace: its name, address, and the link's end in the root namespace."""

    name: str
    netns: str
    address: str
    link: str

    def command(self, argv: list[str]) -> list[str]:
        """`argv` run on this host: in its namespace, with its own host name (so podium
        records it as the owner's host)."""
        return ["ip", "netns", "exec", self.netns, "unshare", "--uts", "--", "sh", "-c",
                'hostname "$0" && exec "$@"', self.name, *argv]

    def cut(self) -> None:
        """Take the host's link down: its packets go nowhere, nobody is told."""
        ip("link", "set", self.link, "down")

    def mend(self) -> None:
        """Bring the link back up."""
        ip("link", "set", self.link, "up")


@dataclass
class Network:
    """The bridge, the root namespace's address on it, and the hosts."""

    bridge: str
    gateway: str
    hosts: dict[str, Host]

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]


@contextmanager
def network(*names: str) -> Iterator[Network]:
    """Hosts `names` on a bridge of their own (a random 10.x.y.0/24, so parallel tests do
    not meet); removed afterwards with every process left in them. Names carry this
    process's id and a count, never a random number: a network namespace's links go
    away some time after `ip netns del`, and a name drawn again met the old link."""
    tag = f"{os.getpid() % 10_000:04d}{next(_NETWORKS) % 100:02d}"
    subnet = f"10.{random.randrange(100, 250)}.{random.randrange(1, 250)}"
    net = Network(f"pdbr{tag}", f"{subnet}.1", {})
    try:
        ip("link", "add", net.bridge, "type", "bridge")
        ip("addr", "add", f"{net.gateway}/24", "dev", net.bridge)
        ip("link", "set", net.bridge, "up")
        for number, name in enumerate(names, start=2):
            host = Host(name, f"pd{tag}{name}", f"{subnet}.{number}", f"pv{tag}{number}")
            net.hosts[name] = host
            ip("netns", "add", host.netns)
            ip("link", "add", host.link, "type", "veth", "peer", "name", "eth0",
               "netns", host.netns)
            ip("link", "set", host.link, "master", net.bridge, "up")
            inside = ["-n", host.netns]
            ip(*inside, "addr", "add", f"{host.address}/24", "dev", "eth0")
            ip(*inside, "link", "set", "eth0", "up")
            ip(*inside, "link", "set", "lo", "up")
            ip(*inside, "route", "add", "default", "via", net.gateway)
        names_file = "".join(f"{h.address} {h.name}\n" for h in net.hosts.values())
        for host in net.hosts.values():  # `ip netns exec` mounts these over /etc's
            config = ETC_NETNS / host.netns
            config.mkdir(parents=True, exist_ok=True)
            (config / "hosts").write_text(f"127.0.0.1 localhost\n{names_file}")
            (config / "resolv.conf").write_text("")  # no name server: lookups fail at once
        yield net
    finally:
        for host in net.hosts.values():
            pids = subprocess.run(["ip", "netns", "pids", host.netns], capture_output=True,
                                  text=True).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), 9)
            subprocess.run(["ip", "link", "del", host.link], capture_output=True)
            subprocess.run(["ip", "netns", "del", host.netns], capture_output=True)
            shutil.rmtree(ETC_NETNS / host.netns, ignore_errors=True)
        subprocess.run(["ip", "link", "del", net.bridge], capture_output=True)


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda p: int(p.parent.parent.name))
    if not found:
        pytest.fail("no PostgreSQL server under /usr/lib/postgresql; "
                    "scripts/ensure-postgres.sh installs it")
    return found[-1].parent


@contextmanager
def postgres_on(address: str) -> Iterator[str]:
    """A PostgreSQL of this test's own listening on `address` (the database host), with
    trust logins; yields its URL. Run as the `postgres` user, stopped and removed after."""
    bin_dir = _postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="podium-pg-"))
    shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust",
                    "-U", "podium", "--no-sync"], check=True, capture_output=True)
    with (data / "pg_hba.conf").open("a") as hba:
        hba.write("host all all 0.0.0.0/0 trust\n")
    log = folder / "postgres.log"
    with log.open("ab") as sink:
        server = subprocess.Popen(
            [*as_postgres, str(bin_dir / "postgres"), "-D", str(data), "-c",
             f"listen_addresses={address}", "-c", "port=5432", "-c",
             f"unix_socket_directories={folder}", "-c", "fsync=off", "-c",
             "max_connections=200"], stdout=sink, stderr=sink)
    url = f"postgresql+psycopg://podium@{address}:5432/postgres"
    try:
        deadline = time.monotonic() + 30
        while subprocess.run([bin_dir / "pg_isready", "-h", address, "-p", "5432"],
                             capture_output=True).returncode:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the test's PostgreSQL did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)
