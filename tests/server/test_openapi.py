"""A property-based run of the API's own OpenAPI document (schemathesis) against a real
`podium serve`: whatever a client sends to any operation, the answer is never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.server.conftest import Server, start_server, stop_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A server of its own: generated requests delete and cancel whatever they name."""
    running = start_server(tmp_path / "home")
    yield running
    # generated requests create warehouses (and could create clusters): they outlive the
    # server, so they go first
    for warehouse in running.get("/api/2.0/sql/warehouses").json()["warehouses"]:
        requests.delete(f"{running.url}/api/2.0/sql/warehouses/{warehouse['id']}",
                        headers=running.headers, timeout=30)
    for cluster in running.get("/api/2.1/clusters/list").json()["clusters"]:
        running.post("/api/2.1/clusters/permanent-delete", {"cluster_id": cluster["cluster_id"]})
    assert stop_server(running) == 0


def test_no_request_makes_the_server_fail(server: Server) -> None:
    document = requests.get(f"{server.url}/openapi.json", timeout=30).json()
    names = {path: [p["name"] for p in op.get("parameters", [])]
             for path, ops in document["paths"].items() for op in ops.values()}
    # each parameter is named after itself (a shared FastAPI `Query` once renamed them)
    assert names["/api/2.1/jobs/runs/get"][0] == "run_id"
    assert {"job_id", "start_time_from", "start_time_to"} <= set(
        names["/api/2.1/jobs/runs/list"])
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 80  # Jobs, Clusters, Policies, Workspace, Secrets, Pipelines

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def answers(case: schemathesis.Case) -> None:
            # a 5xx fails with the request that caused it, as a curl command
            case.call_and_validate(base_url=server.url, headers=server.headers,
                                   checks=[not_a_server_error], timeout=30)

        answers()
