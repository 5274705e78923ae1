"""A bundle's `schemas` and `volumes` made in the local workspace, as `databricks bundle
deploy` makes them in Unity Catalog: a schema is its database folder in the warehouse
(every application registers it at its next session), a volume a folder under `/Volumes`.
Both are kept when the bundle drops them, as Unity Catalog keeps data a deploy did not make
go away."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from podium import defaults
from podium.compute import unity


def create(bundle: Any) -> list[Path]:
    """Make the bundle's schemas and volumes that do not exist yet; the folders made."""
    made: list[Path] = []
    warehouse = defaults.warehouse_dir()
    wanted = [warehouse / f"{unity.database(s.catalog_name, s.name)}.db"
              for s in bundle.schemas.values()]
    for volume in bundle.volumes.values():
        wanted.append(warehouse / f"{unity.database(volume.catalog_name, volume.schema_name)}.db")
        wanted.append(unity.volume_path(volume.catalog_name, volume.schema_name, volume.name))
    for folder in wanted:
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            made.append(folder)
    return made
