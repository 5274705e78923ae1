"""A class-data-sharing archive of the classes a Spark driver loads, so a cluster's JVM maps
them instead of loading and verifying them again: a cold driver start plus its first
query and write take about a third less time (bench/cluster_startup.py).

The archive is made once per Java and Spark jars folder (`python -m
podium.compute.prepare`, which `make` runs) by a driver that does what tasks do —
queries, Parquet and Delta writes, SQL with parameters, Spark Connect; the caller says
how — and dumps the classes it loaded when its JVM exits. Every driver and Spark Connect
server podium starts then uses it, and so do the executors of a standalone cluster
whose workers run on this machine's Spark (another host's JVM finds no archive there and
starts as without one). Each venv's Spark has its own: a JVM silently refuses
an archive made with other class path entries, and would start as without one; `prepare`
deletes the archives of folders that are gone. A JVM that cannot use it (another Java)
starts as before. `PODIUM_JVM_CDS=0` turns it off.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
from pathlib import Path

from podium.jvm import maven
from podium.jvm.java import java_path

BUILD_TIMEOUT_SECONDS = 600
QUIET = ["-Xlog:cds=off", "-Xlog:cds+dynamic=off"]  # no CDS warnings in cluster logs
SOURCE = ".source"  # beside each archive: the Spark jars folder it was made for


@functools.lru_cache(maxsize=1)
def archive_path() -> Path:
    """Where the archive for this Java and this Spark lives (it may not exist yet)."""
    import pyspark

    java = Path(java_path() or "java")
    java = java.resolve() if java.exists() else java
    return maven.cache_dir() / "cds" / archive_name(java, spark_jars(), pyspark.__version__)


def spark_jars() -> Path:
    """The folder of the jars on Spark's class path (the pip package's)."""
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def archive_name(java: Path, jars: Path, version: str) -> str:
    """The archive's file name for `java` and Spark's `jars` folder: a JVM refuses an
    archive made with other class path entries (another venv's folder, a jar rewritten
    since), silently here, so each folder and each jar's size and time get their own."""
    digest = hashlib.sha256()
    jar_stats = [(p.name, p.stat()) for p in sorted(jars.glob("*.jar"))]
    for part in [str(java), str(java.stat().st_mtime_ns) if java.exists() else "",
                 version, str(jars.resolve()),
                 *(f"{name}:{st.st_size}:{st.st_mtime_ns}" for name, st in jar_stats)]:
        digest.update(part.encode() + b"\0")
    return f"spark-{version}-{digest.hexdigest()[:12]}.jsa"


def enabled() -> bool:
    """Whether drivers use the archive (`PODIUM_JVM_CDS=0` says no)."""
    return os.environ.get("PODIUM_JVM_CDS", "1") != "0"


def jvm_options() -> list[str]:
    """The JVM options that map the archive, for drivers and executors alike (a standalone
    worker starts its executors with the driver's class path); none when there is none."""
    path = archive_path()
    if not enabled() or not path.is_file():
        return []
    return [f"-XX:SharedArchiveFile={path}", *QUIET]


def build(workload: list[str]) -> Path:
    """Make the archive (once; a minute): `workload`, a command given the file to write,
    starts a driver with `dump_options(file)` and runs what tasks do; its JVM writes the
    classes it loaded when it exits."""
    path = archive_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(SOURCE).write_text(str(spark_jars().resolve()))  # before: see prune
    if path.is_file():
        return path
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    subprocess.run([*workload, str(temporary)], check=True, timeout=BUILD_TIMEOUT_SECONDS,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not temporary.is_file() or temporary.stat().st_size == 0:
        raise RuntimeError("the JVM wrote no class-data archive")
    temporary.replace(path)
    return path


def prune() -> list[Path]:
    """Delete the archives of Spark folders that are gone (a removed venv or checkout:
    each made its own, some 200 MB) and those of older podiums that noted no folder;
    the ones deleted."""
    gone = []
    for path in sorted((maven.cache_dir() / "cds").glob("*.jsa")):
        source = path.with_suffix(SOURCE)
        if path != archive_path() and (not source.is_file()
                                       or not Path(source.read_text().strip()).is_dir()):
            path.unlink(missing_ok=True)
            source.unlink(missing_ok=True)
            gone.append(path)
    return gone


def dump_options(path: str) -> list[str]:
    """The JVM options with which a JVM writes the classes it loaded to `path` at exit."""
    return [f"-XX:ArchiveClassesAtExit={path}", *QUIET]
