"""Merging YAML trees the way the Databricks CLI does for includes and targets.

Mappings merge key by key (the override wins on scalars); sequences append, and then
job `tasks`, `job_clusters`, `parameters` and `environments` collapse by their key so a
target can change one task without repeating the others.
"""

from __future__ import annotations

from typing import Any

from podium.spec.yaml_source import YList, YMap

KEYED_LISTS: dict[str, str] = {
    "tasks": "task_key",
    "job_clusters": "job_cluster_key",
    "parameters": "name",
    "environments": "environment_key",
}


def merge(base: Any, override: Any) -> Any:
    """Deep-merge `override` over `base`, keeping each key's source location."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = YMap(loc=getattr(base, "loc", None))
        out.key_locs = dict(getattr(base, "key_locs", {}))
        for key, value in base.items():
            out[key] = value
        for key, value in override.items():
            out[key] = merge(base[key], value) if key in base else value
            if isinstance(override, YMap) and key in override.key_locs:
                out.key_locs[key] = override.key_locs[key]
        return out
    if isinstance(base, list) and isinstance(override, list):
        out_list = YList(loc=getattr(base, "loc", None))
        out_list.extend(base)
        out_list.extend(override)
        out_list.item_locs = list(getattr(base, "item_locs", [])) + list(
            getattr(override, "item_locs", [])
        )
        return out_list
    return override


def collapse_keyed(items: Any, key: str) -> Any:
    """Merge entries of a sequence that share `key` (later entries override earlier)."""
    if not isinstance(items, list):
        return items
    out = YList(loc=getattr(items, "loc", None))
    index: dict[Any, int] = {}
    for i, item in enumerate(items):
        loc = items.loc_of(i) if isinstance(items, YList) else None
        ident = _ident(item, key)
        if ident is not None and ident in index:
            at = index[ident]
            out[at] = merge(out[at], item)
            continue
        if ident is not None:
            index[ident] = len(out)
        out.append(item)
        out.item_locs.append(loc or out.loc)
    return out


def collapse_job(job: Any) -> Any:
    """Apply `collapse_keyed` to every keyed sequence of a job mapping."""
    if isinstance(job, dict):
        for field, key in KEYED_LISTS.items():
            if field in job:
                job[field] = collapse_keyed(job[field], key)
    return job


def duplicate_keys(job: Any, where: str) -> list[tuple[Any, str]]:
    """(location, message) for each entry of a keyed job sequence whose key repeats within
    one source; run before merging, since the merge folds equal keys together."""
    found: list[tuple[Any, str]] = []
    if not isinstance(job, dict):
        return found
    for field, key in KEYED_LISTS.items():
        items = job.get(field)
        if not isinstance(items, YList):
            continue
        first: dict[Any, Any] = {}
        for i, item in enumerate(items):
            ident = _ident(item, key)
            if ident is None:
                continue
            if ident in first:
                loc = item.loc_of(key) if isinstance(item, YMap) else items.loc_of(i)
                found.append((loc, f"duplicate {key} '{ident}' (first at line "
                                   f"{first[ident].line}); {key} values must be unique "
                                   f"within {where}"))
            else:
                first[ident] = items.loc_of(i)
    return found


def _ident(item: Any, key: str) -> str | int | None:
    """The key of a keyed-sequence entry, if it is a usable scalar (pydantic reports the
    rest)."""
    ident = item.get(key) if isinstance(item, dict) else None
    return ident if isinstance(ident, (str, int)) else None
