"""Finding Java: Spark 4 needs Java 17 or newer, and saying so beats a JVM stack trace."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

MIN_JAVA = 17


def java_path() -> str | None:
    """The `java` program podium starts: JAVA_HOME's when it is set, else the first on
    PATH; None when PATH has none."""
    home = os.environ.get("JAVA_HOME")
    return os.path.join(home, "bin", "java") if home else shutil.which("java")


def java_major() -> int | None:
    """The major version of `java` on PATH (or JAVA_HOME), or None if there is none."""
    java = java_path()
    if not java or not os.path.exists(java):
        return None
    done = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def require_java() -> None:
    """Exit 2 with a one-line message unless Java 17+ is available."""
    major = java_major()
    if major is None:
        sys.exit(f"podium: Java {MIN_JAVA} or newer is needed to run Spark and none was found; "
                 "install it (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME")
    if major < MIN_JAVA:
        sys.exit(f"podium: Java {major} found, but Spark 4 needs Java {MIN_JAVA} or newer; "
                 "install a newer JDK or point JAVA_HOME at one")
