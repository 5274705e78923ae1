"""`import dlt` in a pipeline's code: Databricks' Delta Live Tables names over Spark
Declarative Pipelines (`pyspark.pipelines`), for code written before `from pyspark import
pipelines as dp`. A `pipeline_task` puts this module in `sys.modules["dlt"]` while it loads
the pipeline's files.

Expectations have no engine in open-source Spark: `expect_or_drop`/`expect_all_or_drop`
filter out the rows that fail; `expect`, `expect_all` and the `_or_fail` forms keep every
row (documented in docs/bundles.md)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from pyspark import pipelines as dp

table = dp.table
materialized_view = dp.materialized_view
view = dp.temporary_view
temporary_view = dp.temporary_view
create_streaming_table = dp.create_streaming_table
create_sink = dp.create_sink
append_flow = dp.append_flow
create_auto_cdc_flow = dp.create_auto_cdc_flow
apply_changes = dp.create_auto_cdc_flow
spark: Any = None  # the pipeline's session, set by the pipeline task


def read(name: str) -> Any:
    """A dataset of the pipeline (or any table), read in batch."""
    return spark.read.table(name)


def read_stream(name: str) -> Any:
    """A dataset of the pipeline (or any table), read as a stream."""
    return spark.readStream.table(name)


def _keep(*_args: Any, **_kwargs: Any) -> Callable[[Any], Any]:
    return lambda function: function


def _dropping(conditions: list[str]) -> Callable[[Any], Any]:
    def decorate(function: Any) -> Any:
        @functools.wraps(function)
        def filtered(*args: Any, **kwargs: Any) -> Any:
            frame = function(*args, **kwargs)
            for condition in conditions:
                frame = frame.filter(condition)
            return frame
        return filtered
    return decorate


expect = expect_or_fail = _keep
expect_all = expect_all_or_fail = _keep


def expect_or_drop(_name: str, condition: str) -> Callable[[Any], Any]:
    """Keep only the rows that meet `condition`."""
    return _dropping([condition])


def expect_all_or_drop(expectations: dict[str, str]) -> Callable[[Any], Any]:
    """Keep only the rows that meet every condition."""
    return _dropping(list(expectations.values()))
