"""JVM libraries: Maven coordinates resolved once, with their dependencies, into a cache
shared by every workspace of the user.

A set of coordinates (with its repositories and exclusions) is resolved by Spark's own
resolver, Apache Ivy from the pyspark package, run as its own `java` process; the
resolved jar paths are kept in a manifest named by the set's hash. The next cluster that
asks for the same set reads the manifest and touches no network. Where Ivy cannot reach a
repository (a proxy only the machine's Maven knows, say), the machine's `mvn` resolves it.
The cache is `PODIUM_JVM_CACHE`, default `~/.cache/podium/jvm` (`XDG_CACHE_HOME` is
honoured).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from html import escape
from pathlib import Path

from podium import defaults
from podium.files import locked, write_whole
from podium.jvm.errors import LibraryError
from podium.jvm.java import java_path
from podium.spec.checks import COORDINATE, coordinate_problem

CENTRAL = "https://repo1.maven.org/maven2/"
# What every Spark application already has: never put a second copy on its class path.
PROVIDED = ("org.apache.spark:*", "org.scala-lang:*")
SPARK_JAR = re.compile(r"^(.+?)-\d[\w.\-]*\.jar$")
RESOLVE_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Request:
    """What a cluster asks for: coordinates, extra repositories and exclusions."""

    coordinates: tuple[str, ...]
    repos: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The cache name of this set (order and repetition do not matter)."""
        text = json.dumps([sorted(set(self.coordinates)), sorted(set(self.repos)),
                           sorted(set(self.exclusions))])
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def cache_dir() -> Path:
    """Where resolved jars and manifests live, for every workspace of this user."""
    return defaults.jvm_cache_dir()


def _manifest(request: Request) -> Path:
    return cache_dir() / "sets" / f"{request.key}.json"


def cached(request: Request) -> list[Path] | None:
    """The jars of a set resolved before (all still on disk), or None."""
    try:
        jars = [Path(p) for p in json.loads(_manifest(request).read_text())["jars"]]
    except (OSError, ValueError, KeyError):
        return None
    return jars if all(j.is_file() for j in jars) else None


def in_cache(coordinates: str) -> bool:
    """Whether the jar of one coordinate is in the cache already (its dependencies are
    fetched with it)."""
    match = COORDINATE.match(coordinates.strip())
    if match is None:
        return False
    group, artifact, version = match.groups()
    folder = cache_dir() / "ivy" / group / artifact
    return any((folder / kind / f"{artifact}-{version}.jar").is_file()
               for kind in ("jars", "bundles"))


def resolve(request: Request) -> list[Path]:
    """The jars of `request` and their dependencies: from the cache, or resolved now (one
    process at a time per cache; the others then find the manifest)."""
    if not request.coordinates:
        return []
    for text in request.coordinates:
        if problem := coordinate_problem(text):
            raise LibraryError(problem)
    jars = cached(request)
    if jars is not None:
        return jars
    with locked(cache_dir()):
        jars = cached(request)
        if jars is None:
            jars = _resolve_with_ivy(request)
            _manifest(request).parent.mkdir(parents=True, exist_ok=True)
            write_whole(_manifest(request), json.dumps({
                "coordinates": sorted(set(request.coordinates)), "repos": list(request.repos),
                "exclusions": list(request.exclusions),
                "jars": [str(j) for j in jars]}, indent=1).encode())
    return jars


def spark_jars_folder() -> Path:
    """The jars of the pip package's Spark."""
    import pyspark

    return Path(pyspark.__file__).parent / "jars"


def spark_modules() -> list[str]:
    """Artifact names Spark ships (`jackson-databind`, `hadoop-client-api`, ...): a
    library's dependency on one of them is served by Spark's copy, as `--packages` would
    in effect (Spark's class path comes first)."""
    return sorted({m.group(1) for p in spark_jars_folder().glob("*.jar")
                   if (m := SPARK_JAR.match(p.name))})


def _ivy_jar() -> Path:
    found = sorted(spark_jars_folder().glob("ivy-*.jar"))
    if not found:
        raise LibraryError("Spark's Ivy jar is missing from the pyspark package; reinstall it")
    return found[-1]


def _java() -> str:
    return java_path() or "java"


def _ivy_module(request: Request) -> str:
    lines = ['<ivy-module version="2.0">', '<info organisation="podium" module="libraries"/>',
             "<dependencies>"]
    for text in sorted(set(request.coordinates)):
        group, artifact, version = COORDINATE.match(text.strip()).groups()  # type: ignore[union-attr]
        lines.append(f'<dependency org="{escape(group)}" name="{escape(artifact)}" '
                     f'rev="{escape(version)}" conf="default->default"/>')
    for text in (*request.exclusions, *PROVIDED):
        group, artifact = text.strip().split(":", 1)
        lines.append(f'<exclude org="{escape(group)}" module="{escape(artifact)}"/>')
    for module in spark_modules():
        lines.append(f'<exclude module="{escape(module)}"/>')
    lines += ["</dependencies>", "</ivy-module>"]
    return "\n".join(lines)


def _ivy_settings(request: Request) -> str:
    repos = [*request.repos, CENTRAL]
    resolvers = "\n".join(
        f'<ibiblio name="repo{i}" m2compatible="true" root="{escape(url)}"/>'
        for i, url in enumerate(repos))
    return (f'<ivysettings><settings defaultResolver="chain"/>'
            f'<caches defaultCacheDir="{escape(str(cache_dir() / "ivy"))}"/>'
            f'<resolvers><chain name="chain" returnFirst="true">{resolvers}</chain>'
            f"</resolvers></ivysettings>")


def _resolve_with_ivy(request: Request) -> list[Path]:
    with tempfile.TemporaryDirectory(prefix="podium-ivy-") as work:
        folder = Path(work)
        (folder / "ivy.xml").write_text(_ivy_module(request))
        (folder / "ivysettings.xml").write_text(_ivy_settings(request))
        out = folder / "classpath.txt"
        command = [_java(), "-cp", str(_ivy_jar()), "org.apache.ivy.Main",
                   "-settings", str(folder / "ivysettings.xml"), "-ivy", str(folder / "ivy.xml"),
                   "-confs", "default", "-types", "jar", "bundle", "-cachepath", str(out)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False,
                                  timeout=RESOLVE_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as exc:
            raise LibraryError(f"resolving {', '.join(request.coordinates)} took more than "
                               f"{RESOLVE_TIMEOUT_SECONDS}s; check the network") from exc
        if done.returncode == 0 and out.exists():
            return [Path(p) for p in out.read_text().strip().split(os.pathsep) if p]
        missing = re.findall(r"UNRESOLVED DEPENDENCIES.*?::\s+(\S+);(\S+): (not found|[^\n]+)",
                             done.stdout, re.S)
        if missing:
            (name, version, why) = missing[0]
            group, _, artifact = name.partition("#")
            raise LibraryError(f"maven library '{group}:{artifact}:{version}' {why.strip()} in "
                               f"{', '.join([*request.repos, CENTRAL])}")
        if shutil.which("mvn"):
            return _resolve_with_maven(request)
        tail = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.strip()][-1:]
        raise LibraryError(f"could not resolve {', '.join(request.coordinates)}: "
                           f"{tail[0].strip() if tail else 'Ivy failed'}")


def _resolve_with_maven(request: Request) -> list[Path]:
    """The machine's Maven, for networks only it is set up for (mirrors, proxies)."""
    dependencies = []
    for text in sorted(set(request.coordinates)):
        group, artifact, version = COORDINATE.match(text.strip()).groups()  # type: ignore[union-attr]
        exclusions = "".join(
            f"<exclusion><groupId>{escape(g)}</groupId><artifactId>{escape(a)}</artifactId>"
            f"</exclusion>"
            for g, a in (e.strip().split(":", 1) for e in (*request.exclusions, *PROVIDED)))
        dependencies.append(f"<dependency><groupId>{escape(group)}</groupId><artifactId>"
                            f"{escape(artifact)}</artifactId><version>{escape(version)}"
                            f"</version><exclusions>{exclusions}</exclusions></dependency>")
    repos = "".join(f"<repository><id>repo{i}</id><url>{escape(url)}</url></repository>"
                    for i, url in enumerate(request.repos))
    pom = ('<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0'
           "</modelVersion><groupId>podium</groupId><artifactId>libraries</artifactId>"
           f"<version>1</version><repositories>{repos}</repositories><dependencies>"
           f"{''.join(dependencies)}</dependencies></project>")
    with tempfile.TemporaryDirectory(prefix="podium-mvn-") as work:
        folder = Path(work)
        (folder / "pom.xml").write_text(pom)
        out = folder / "classpath.txt"
        done = subprocess.run(
            ["mvn", "-q", "-B", "-f", str(folder / "pom.xml"), "dependency:build-classpath",
             "-Dmdep.includeScope=runtime", f"-Dmdep.outputFile={out}"],
            capture_output=True, text=True, check=False, timeout=RESOLVE_TIMEOUT_SECONDS)
        if done.returncode != 0 or not out.exists():
            errors = [ln for ln in done.stdout.splitlines() if "[ERROR]" in ln]
            raise LibraryError(f"could not resolve {', '.join(request.coordinates)} with Ivy "
                               f"or Maven: {(errors or ['mvn failed'])[0]}")
        return [Path(p) for p in out.read_text().strip().split(os.pathsep) if p]
