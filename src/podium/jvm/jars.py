"""The jars a cluster's JVM starts with: Delta Lake (unless the cluster opts out), the
`maven` and `jar` libraries of the cluster and of the tasks that run on it, and podium's
own jar built from `sources/`.

On Databricks every table is a Delta table unless said otherwise, so every cluster podium
starts has Delta's jars, session extension and catalog, and `spark.sql.sources.default`
set to `delta`. `spark.podium.delta: "false"` in a cluster's `spark_conf` gives plain Spark.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from podium import defaults
from podium.files import locked
from podium.jvm import maven
from podium.jvm.errors import LibraryError

DELTA_OPT_OUT = "spark.podium.delta"
# podium's own JVM classes (`sources/*.java`), built into the cache: the parser extension,
# the `LocalCatalog` plugin and the volumes file system (`compute/cluster_conf.py` sets
# them on a cluster).
JVM_SOURCES = Path(__file__).parent / "sources"
OWN_JAR_PREFIX = "podium-spark-"  # then a digest of the sources and the Spark version


@dataclass(frozen=True)
class JvmLibraries:
    """A cluster's JVM libraries as asked for: Maven coordinates and jar paths."""

    maven: maven.Request
    jars: tuple[str, ...] = ()


def delta_enabled(spec: Any) -> bool:
    """Whether a cluster gets Delta Lake (all do, unless `spark.podium.delta` is false)."""
    return str(spec.spark_conf.get(DELTA_OPT_OUT, "true")).strip().lower() != "false"


def delta_coordinates() -> str:
    """Delta's Spark jar for this pyspark and the installed delta-spark package."""
    import pyspark

    spark = ".".join(pyspark.__version__.split(".")[:2])
    return f"io.delta:delta-spark_{spark}_2.13:{version('delta-spark')}"


def of_libraries(libraries: list[Any]) -> JvmLibraries:
    """The JVM part of a `libraries` list (`maven` and `jar` entries)."""
    coordinates: list[str] = []
    repos: list[str] = []
    exclusions: list[str] = []
    jars: list[str] = []
    for library in libraries:
        if library.maven is not None:
            coordinates.append(library.maven.coordinates.strip())
            if library.maven.repo:
                repos.append(library.maven.repo)
            exclusions += library.maven.exclusions
        if library.jar:
            jars.append(library.jar)
    return JvmLibraries(maven.Request(tuple(coordinates), tuple(repos), tuple(exclusions)),
                        tuple(jars))


def union(*parts: JvmLibraries) -> JvmLibraries:
    """Everything several `libraries` lists ask for, each once, in first-seen order."""
    def once(items: list[str]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(items))

    return JvmLibraries(
        maven.Request(once([c for p in parts for c in p.maven.coordinates]),
                      once([r for p in parts for r in p.maven.repos]),
                      once([e for p in parts for e in p.maven.exclusions])),
        once([j for p in parts for j in p.jars]))


def of_cluster(spec: Any) -> JvmLibraries:
    """What the cluster's JVM loads: its libraries (the tasks' ones merged in by the
    executor) plus Delta unless it opts out."""
    own = of_libraries(spec.libraries)
    if not delta_enabled(spec):
        return own
    return union(JvmLibraries(maven.Request((delta_coordinates(),))), own)


def missing(cluster: Any, task_libraries: list[Any]) -> list[str]:
    """Libraries a task asks for that a running cluster was not started with (none known
    missing when the cluster's spec is not known here: a shared cluster started from
    another bundle)."""
    if not task_libraries or not getattr(cluster, "spec_known", True):
        return []
    have = of_cluster(cluster.spec)
    want = of_libraries(task_libraries)
    return [c for c in want.maven.coordinates if c not in have.maven.coordinates] + \
        [j for j in want.jars if j not in have.jars]


def listing(spec: Any) -> list[dict[str, Any]]:
    """A cluster's JVM libraries for `podium validate`: each with whether it is ready
    without the network (a Maven jar in the cache, a jar file on disk)."""
    wanted = of_cluster(spec)
    rows = [{"library": c, "type": "maven", "cached": maven.in_cache(c)}
            for c in wanted.maven.coordinates]
    for jar in wanted.jars:
        try:
            local_jar(jar)
            rows.append({"library": jar, "type": "jar", "cached": True})
        except LibraryError:
            rows.append({"library": jar, "type": "jar", "cached": False})
    return rows


def local_jar(path: str) -> Path:
    """Where a `jar` library is on this machine: `dbfs:/` under the workspace's DBFS,
    `/Workspace/...` in the workspace folder, else the path itself (the loader made a
    bundle's relative paths absolute)."""
    from podium.spec.workspace import local

    if path.startswith("dbfs:/"):
        found = defaults.dbfs_root() / path.removeprefix("dbfs:/")
    elif path.startswith("/Workspace/"):
        found = local(path)
    else:
        found = Path(path).expanduser()
    if not found.is_file():
        raise LibraryError(f"jar library '{path}' not found (looked at {found})")
    return found


def class_path(spec: Any) -> list[str]:
    """The jars a cluster starts with, resolved (Maven) and found (jar paths)."""
    wanted = of_cluster(spec)
    return [str(p) for p in maven.resolve(wanted.maven)] + \
        [str(local_jar(j)) for j in wanted.jars] + _own_jar(spec)


def _own_jar(spec: Any) -> list[str]:
    """podium's jar, on every cluster: Delta's need it (the parser extension, the
    catalogs); the others still use it to bind a task's thread in one call and to read
    their load and a run's cost without Spark's REST layer, so where it cannot be built
    (no JDK, a cache folder it cannot write) they start without it."""
    try:
        return [str(podium_jar())]
    except (LibraryError, OSError):
        if delta_enabled(spec):
            raise
        return []


def has_own_jar(paths: list[str]) -> bool:
    """Whether a class path from `class_path` holds podium's jar."""
    return any(Path(p).name.startswith(OWN_JAR_PREFIX) for p in paths)


def podium_jar() -> Path:
    """podium's JVM classes (the parser extension, the catalog plugin), compiled once per
    source and Spark version into the JVM cache (needs `javac`, i.e. a JDK)."""
    import hashlib

    import pyspark

    digest = hashlib.sha256(pyspark.__version__.encode())
    for source in sources():
        digest.update(source.read_bytes())
    jar = maven.cache_dir() / f"{OWN_JAR_PREFIX}{digest.hexdigest()[:16]}.jar"
    if jar.is_file():
        return jar
    with locked(maven.cache_dir()):
        if not jar.is_file():
            _build(jar)
    return jar


def sources() -> list[Path]:
    """The Java sources of podium's jar."""
    return sorted(JVM_SOURCES.glob("*.java"))


def _build(jar: Path) -> None:
    import shutil
    import subprocess
    import tempfile

    from podium.files import TEMP_PREFIX

    home = os.environ.get("JAVA_HOME")
    tools = [os.path.join(home, "bin", t) if home else shutil.which(t) for t in ("javac", "jar")]
    if not all(t and os.path.exists(t) for t in tools):
        raise LibraryError("building podium's Spark extensions needs a JDK (javac and jar); "
                           "install one (Debian: openjdk-17-jdk-headless)")
    classes = Path(tempfile.mkdtemp(prefix="podium-javac-"))
    try:
        spark_jars = Path(maven.spark_jars_folder()) / "*"
        for command in ([tools[0], "-nowarn", "-d", str(classes), "-cp", str(spark_jars),
                         *[str(s) for s in sources()]],
                        [tools[1], "cf", str(jar.parent / (TEMP_PREFIX + jar.name)), "-C",
                         str(classes), "."]):
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise LibraryError(f"building {jar.name} failed: "
                                   f"{(done.stderr or done.stdout).strip().splitlines()[0]}")
        os.replace(jar.parent / (TEMP_PREFIX + jar.name), jar)
    finally:
        shutil.rmtree(classes, ignore_errors=True)
