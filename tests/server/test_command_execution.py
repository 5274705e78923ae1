"""databricks-sdk's command execution client, unchanged, against a real `podium serve`: a
context on an all-purpose cluster keeps its variables, runs SQL, reports errors and
cancels a long command."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from databricks.sdk.errors import BadRequest
from databricks.sdk.service import compute

from tests.conftest import ENDLESS
from tests.server.conftest import Server


@pytest.fixture(scope="module")
def cluster_id(server: Server) -> Iterator[str]:
    """An all-purpose cluster for the module; removed afterwards (it outlives servers)."""
    w = server.sdk()
    made = w.clusters.create(cluster_name="commands", spark_version="16.4.x-scala2.12",
                             num_workers=0, spark_conf={"spark.master": "local[1]"},
                             autotermination_minutes=10).result()
    yield made.cluster_id
    w.clusters.permanent_delete(made.cluster_id)


def test_a_context_keeps_variables_and_runs_python_and_sql(server: Server,
                                                           cluster_id: str) -> None:
    w = server.sdk()
    context = w.command_execution.create(cluster_id=cluster_id,
                                         language=compute.Language.PYTHON).result()
    run = w.command_execution.execute_and_wait
    first = run(cluster_id=cluster_id, context_id=context.id,
                language=compute.Language.PYTHON,
                command="rows = spark.range(5).count()\nprint('counted')")
    assert first.status == compute.CommandStatus.FINISHED
    assert first.results.result_type == compute.ResultType.TEXT
    assert first.results.data == "counted"
    second = run(cluster_id=cluster_id, context_id=context.id,
                 language=compute.Language.PYTHON, command="rows * 10")
    assert second.results.data == "Out[2]: 50"

    table = run(cluster_id=cluster_id, context_id=context.id, language=compute.Language.SQL,
                command="SELECT id, id * 2 AS twice FROM range(3)")
    assert table.results.result_type == compute.ResultType.TABLE
    assert table.results.data == [[0, 0], [1, 2], [2, 4]]
    assert [c["name"] for c in table.results.schema] == ["id", "twice"]

    failed = run(cluster_id=cluster_id, context_id=context.id,
                 language=compute.Language.PYTHON, command="1 / 0")
    assert failed.status == compute.CommandStatus.ERROR
    assert failed.results.result_type == compute.ResultType.ERROR
    assert failed.results.summary == "ZeroDivisionError: division by zero"
    assert "Traceback" in failed.results.cause
    w.command_execution.destroy(cluster_id=cluster_id, context_id=context.id)
    with pytest.raises(BadRequest, match="does not exist"):
        w.command_execution.context_status(cluster_id=cluster_id, context_id=context.id)


def test_cancel_interrupts_a_long_command_and_the_context_goes_on(server: Server,
                                                                   cluster_id: str) -> None:
    w = server.sdk()
    context = w.command_execution.create(cluster_id=cluster_id,
                                         language=compute.Language.PYTHON).result()
    started = w.command_execution.execute(
        cluster_id=cluster_id, context_id=context.id, language=compute.Language.PYTHON,
        command=ENDLESS).response
    deadline = time.monotonic() + 60
    while w.command_execution.command_status(
            cluster_id=cluster_id, context_id=context.id,
            command_id=started.id).status != compute.CommandStatus.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(1)  # the Spark job is under way
    cancelling = threading.Thread(target=w.command_execution.cancel_and_wait, kwargs={
        "cluster_id": cluster_id, "context_id": context.id, "command_id": started.id})
    cancelling.start()
    cancelling.join(60)
    status = w.command_execution.command_status(cluster_id=cluster_id, context_id=context.id,
                                                command_id=started.id)
    assert status.status == compute.CommandStatus.CANCELLED
    after = w.command_execution.execute_and_wait(
        cluster_id=cluster_id, context_id=context.id, language=compute.Language.PYTHON,
        command="spark.range(3).count()")
    assert after.results.data == "Out[1]: 3"
    w.command_execution.destroy(cluster_id=cluster_id, context_id=context.id)
    with pytest.raises(BadRequest, match="Language scala"):
        w.command_execution.create(cluster_id=cluster_id, language=compute.Language.SCALA)
