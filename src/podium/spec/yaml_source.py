"""YAML files read into plain dicts and lists that remember where each node came from.

`YMap` and `YList` are `dict`/`list` subclasses, so pydantic and the merge code treat
them as ordinary containers, while messages can still point at `file:line:col`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from podium.spec.errors import BundleError, Location, Problem, relative


class YMap(dict):
    """A mapping with its own location and the location of each key."""

    loc: Location
    key_locs: dict[str, Location]

    def __init__(self, *args: Any, loc: Location | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.loc = loc or Location("<unknown>")
        self.key_locs = {}

    def loc_of(self, key: str) -> Location:
        """Where `key` is written, or where this mapping starts if it is not."""
        return self.key_locs.get(key, self.loc)


class YList(list):
    """A sequence with its own location and the location of each item."""

    loc: Location
    item_locs: list[Location]

    def __init__(self, *args: Any, loc: Location | None = None):
        super().__init__(*args)
        self.loc = loc or Location("<unknown>")
        self.item_locs = []

    def loc_of(self, index: int) -> Location:
        """Where item `index` is written."""
        return self.item_locs[index] if 0 <= index < len(self.item_locs) else self.loc


def loc_of(node: Any, key: str | int | None = None) -> Location | None:
    """Location of `node[key]` (or of `node` itself), if the node carries one."""
    if isinstance(node, YMap):
        return node.loc_of(key) if isinstance(key, str) else node.loc
    if isinstance(node, YList):
        return node.loc_of(key) if isinstance(key, int) else node.loc
    return None


def _convert(node: Any, file: str) -> Any:
    if isinstance(node, CommentedMap):
        out = YMap(loc=Location(file, node.lc.line + 1, node.lc.col + 1))
        for key, value in node.items():
            k = str(key) if not isinstance(key, str) else key
            # Keys brought in by a `<<` merge have no position of their own.
            line, col = node.lc.key(key) if key in (node.lc.data or {}) else (
                node.lc.line, node.lc.col)
            out[k] = _convert(value, file)
            out.key_locs[k] = Location(file, line + 1, col + 1)
        return out
    if isinstance(node, CommentedSeq):
        out_list = YList(loc=Location(file, node.lc.line + 1, node.lc.col + 1))
        for i, value in enumerate(node):
            line, col = node.lc.item(i)
            out_list.append(_convert(value, file))
            out_list.item_locs.append(Location(file, line + 1, col + 1))
        return out_list
    if node is None or isinstance(node, (bool, int, float)):
        return node
    if hasattr(node, "isoformat"):  # dates and times stay as the text the user wrote
        return node.isoformat()
    return str(node)


def load_yaml_file(path: Path, root: Path | None = None) -> YMap:
    """Read one YAML file into a YMap; syntax errors become located BundleErrors."""
    shown = relative(path, root)
    yaml = YAML(typ="rt")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BundleError([Problem(Location(shown), f"cannot read file: {exc.strerror}")]) from None
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = Location(shown, mark.line + 1, mark.column + 1) if mark else Location(shown)
        what = exc.problem or exc.context or "invalid YAML"
        raise BundleError(
            [Problem(loc, f"YAML syntax error: {what}; fix the YAML syntax at this position")]
        ) from None
    except Exception as exc:  # ruamel raises a few non-marked errors (duplicate keys, tabs)
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BundleError([Problem(Location(shown, 1, 1), f"YAML error: {msg}")]) from None
    if data is None:
        return YMap(loc=Location(shown, 1, 1))
    if not isinstance(data, CommentedMap):
        raise BundleError(
            [Problem(Location(shown, 1, 1), "the file must hold a YAML mapping at the top level")]
        )
    return _convert(data, shown)
