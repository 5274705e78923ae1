"""Parameter sets for many runs of one job: `--params-file` (.jsonl, .json, .csv) and
`--param-set '{"k": "v"}'`, each a dict of job-parameter values."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from podium.spec.errors import Location, Problem, relative


class ParamSetError(ValueError):
    """A parameter set that cannot be read; carries the located problem."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, (list, dict, bool)) or value is None \
        else str(value)


def _as_set(value: Any, where: Location) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ParamSetError(Problem(where, "a parameter set must be a JSON object such as "
                                    '{"region": "eu"}'))
    return {str(k): _text(v) for k, v in value.items()}


def read_param_sets(path: Path | None, inline: list[str]) -> list[dict[str, str]]:
    """Every parameter set, file first, then `--param-set` options, in order."""
    sets: list[dict[str, str]] = []
    if path is not None:
        shown = relative(path)
        if not path.is_file():
            raise ParamSetError(Problem(Location(shown), "parameter file not found; give a "
                                        ".jsonl, .json or .csv file"))
        content = path.read_bytes()
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = content[:exc.start].count(b"\n") + 1
            raise ParamSetError(Problem(Location(shown, line, 1), "not UTF-8 text; save the "
                                        "parameter file as UTF-8")) from None
        if path.suffix == ".csv":
            for row in csv.DictReader(text.splitlines()):
                sets.append({k: v for k, v in row.items() if k is not None})
        elif path.suffix == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ParamSetError(Problem(Location(shown, exc.lineno, exc.colno),
                                            f"invalid JSON: {exc.msg}")) from None
            if not isinstance(data, list):
                raise ParamSetError(Problem(Location(shown, 1, 1), "a .json parameter file "
                                            "must hold an array of objects"))
            sets += [_as_set(v, Location(shown, 1, 1)) for v in data]
        else:
            for number, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ParamSetError(Problem(Location(shown, number, exc.colno),
                                                f"invalid JSON: {exc.msg}")) from None
                sets.append(_as_set(value, Location(shown, number, 1)))
        if not sets:  # else an empty file would mean one run with the defaults
            raise ParamSetError(Problem(Location(shown), "no parameter sets in the file; "
                                        "write one per line (.jsonl), an array (.json) or a "
                                        "header and a row per run (.csv)"))
    for i, raw in enumerate(inline, start=1):
        where = Location(f"--param-set #{i}")
        try:
            sets.append(_as_set(json.loads(raw), where))
        except json.JSONDecodeError as exc:
            raise ParamSetError(Problem(where, f"invalid JSON: {exc.msg}")) from None
    return sets
