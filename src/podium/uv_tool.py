"""uv, the tool podium makes Python environments and builds wheels with: the binary that
came with podium (the `uv` package, never one fetched at run time) and the machine's pip
index settings as uv options (uv reads only its own)."""

from __future__ import annotations

import configparser
import os
from pathlib import Path


def uv_bin() -> str:
    """The uv that came with podium (the `uv` package)."""
    from uv import find_uv_bin

    return str(find_uv_bin())


def machine_indexes() -> list[str]:
    """uv options for the package index pip is configured with on this machine
    (`PIP_INDEX_URL`, `PIP_EXTRA_INDEX_URL`, `PIP_FIND_LINKS`, or pip.conf's [global])."""
    config = configparser.ConfigParser()
    config.read([Path("/etc/pip.conf"), Path.home() / ".config/pip/pip.conf",
                 Path.home() / ".pip/pip.conf"])
    options: list[str] = []
    for name, flag in (("index-url", "--index-url"), ("extra-index-url", "--extra-index-url"),
                       ("find-links", "--find-links")):
        value = os.environ.get("PIP_" + name.upper().replace("-", "_")) or \
            config.get("global", name, fallback="")
        for item in value.split():
            options += [flag, item]
    return options
