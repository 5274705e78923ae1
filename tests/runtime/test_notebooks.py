"""Reading notebooks: source format, MAGIC cells, .ipynb, SQL splitting."""

from __future__ import annotations

import json
from pathlib import Path

from podium.runtime.notebooks import read_cells, split_sql

SOURCE = """# Databricks notebook source
# MAGIC %md
# MAGIC # Title

# COMMAND ----------

x = 1

# COMMAND ----------

# MAGIC %sql
# MAGIC SELECT :n AS n

# COMMAND ----------

# MAGIC %run ./helpers
"""


def test_source_format_cells_keep_their_language_and_first_line(tmp_path: Path) -> None:
    path = tmp_path / "nb.py"
    path.write_text(SOURCE)
    cells = read_cells(path)
    assert [(c.number, c.language) for c in cells] == [(1, "md"), (2, "python"), (3, "sql"),
                                                       (4, "run")]
    assert cells[1].first_line == 6
    assert cells[1].source.split("\n").index("x = 1") + cells[1].first_line == 7
    assert "SELECT :n AS n" in cells[2].source
    assert cells[3].source == "./helpers"


def test_plain_python_file_is_one_cell(tmp_path: Path) -> None:
    path = tmp_path / "plain.py"
    path.write_text("print('hi')\n")
    assert [(c.language, c.first_line) for c in read_cells(path)] == [("python", 1)]


def test_ipynb_cells_and_magics(tmp_path: Path) -> None:
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                "cells": [{"cell_type": "markdown", "metadata": {}, "source": "# doc"},
                          {"cell_type": "code", "metadata": {}, "execution_count": None,
                           "outputs": [], "source": "y = 2"},
                          {"cell_type": "code", "metadata": {}, "execution_count": None,
                           "outputs": [], "source": "%sql\nSELECT 1"}]}
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook))
    cells = read_cells(path)
    assert [(c.number, c.language) for c in cells] == [(2, "python"), (3, "sql")]
    assert cells[1].source.strip() == "SELECT 1"


def test_split_sql_respects_quotes_and_comments() -> None:
    text = "SELECT 'a;b' AS x; -- a comment; here\nSELECT \"c;d\";\n\n;SELECT 3"
    assert split_sql(text) == ["SELECT 'a;b' AS x", 'SELECT "c;d"', "SELECT 3"]
