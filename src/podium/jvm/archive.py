"""A class-data-sharing archive of the classes a Spark driver loads, so a cluster's JVM maps
them instead of loading and verifying them again: a cold driver start plus its first
query and write take about a third less time (bench/cluster_startup.py).

The archive is made once per Java and Spark installation (`python -m
podium.compute.prepare`, which `make` runs) by a driver that does what tasks do —
queries, Parquet and Delta writes, SQL with parameters, Spark Connect; the caller says
how — and dumps the classes it loaded when its JVM exits. Every driver and Spark Connect
server podium starts then uses it; a JVM that cannot use it (another Java, other jars)
starts as before. `PODIUM_JVM_CDS=0` turns it off.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from podium.jvm import maven

BUILD_TIMEOUT_SECONDS = 600
QUIET = ["-Xlog:cds=off", "-Xlog:cds+dynamic=off"]  # no CDS warnings in cluster logs


@functools.lru_cache(maxsize=1)
def archive_path() -> Path:
    """Where the archive for this Java and this Spark lives (it may not exist yet)."""
    import pyspark

    home = os.environ.get("JAVA_HOME")
    java = Path(home, "bin", "java") if home else Path(shutil.which("java") or "java")
    java = java.resolve() if java.exists() else java
    jars = Path(pyspark.__file__).parent / "jars"
    digest = hashlib.sha256()
    for part in [str(java), str(java.stat().st_mtime_ns) if java.exists() else "",
                 pyspark.__version__, *sorted(p.name for p in jars.glob("*.jar"))]:
        digest.update(part.encode() + b"\0")
    return maven.cache_dir() / "cds" / f"spark-{pyspark.__version__}-{digest.hexdigest()[:12]}.jsa"


def enabled() -> bool:
    """Whether drivers use the archive (`PODIUM_JVM_CDS=0` says no)."""
    return os.environ.get("PODIUM_JVM_CDS", "1") != "0"


def driver_options() -> list[str]:
    """The driver JVM options that map the archive; none when there is no archive."""
    path = archive_path()
    if not enabled() or not path.is_file():
        return []
    return [f"-XX:SharedArchiveFile={path}", *QUIET]


def build(workload: list[str]) -> Path:
    """Make the archive (once; a minute): `workload`, a command given the file to write,
    starts a driver with `dump_options(file)` and runs what tasks do; its JVM writes the
    classes it loaded when it exits."""
    path = archive_path()
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    subprocess.run([*workload, str(temporary)], check=True, timeout=BUILD_TIMEOUT_SECONDS,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not temporary.is_file() or temporary.stat().st_size == 0:
        raise RuntimeError("the JVM wrote no class-data archive")
    temporary.replace(path)
    return path


def dump_options(path: str) -> list[str]:
    """The JVM options with which a JVM writes the classes it loaded to `path` at exit."""
    return [f"-XX:ArchiveClassesAtExit={path}", *QUIET]
