"""What file-arrival and table-update triggers look at: the files under a location and
the change stamps of warehouse tables."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from podium import defaults
from podium.runtime.dbutils import Fs


def location(url: str) -> Path:
    """The local folder a trigger's `url` names: a path, `file:/`, `dbfs:/` or a
    `/Volumes/...` path (under `$PODIUM_HOME/dbfs`, as `dbutils.fs` keeps them)."""
    if url.startswith(("dbfs:", "file:", "/Volumes/")):
        return Fs.local(url)
    return Path(url).expanduser()


def file_names(url: str) -> set[str]:
    """Names (relative paths) of the files under `url`, hidden and `_` files left out;
    empty when the location does not exist yet."""
    root = location(url)
    names: set[str] = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        for name in files:
            if not name.startswith((".", "_")):
                names.add(os.path.relpath(os.path.join(folder, name), root))
    return names


def table_folder(name: str) -> Path:
    """The warehouse folder of table `name` (`t`, `db.t` or `catalog.db.t`)."""
    parts = name.strip("`").split(".")
    if len(parts) == 1 or parts[-2] == "default":
        return defaults.warehouse_dir() / parts[-1]
    return defaults.warehouse_dir() / f"{parts[-2]}.db" / parts[-1]


def table_stamp(name: str) -> str | None:
    """A stamp that changes whenever table `name` is written: the newest commit of its
    Delta log, else the folder's files and times. None when the table does not exist."""
    folder = table_folder(name)
    log = folder / "_delta_log"
    with contextlib.suppress(OSError):
        if log.is_dir():
            commits = sorted(p.name for p in log.iterdir() if p.name.endswith(".json"))
            return f"delta:{commits[-1] if commits else ''}"
        entries = sorted((e.name, e.stat().st_mtime_ns) for e in os.scandir(folder))
        digest = hashlib.sha1(repr(entries).encode()).hexdigest()[:16]
        return f"files:{folder.stat().st_mtime_ns}:{digest}"
    return None
