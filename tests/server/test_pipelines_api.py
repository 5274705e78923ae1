"""The Pipelines API as databricks-sdk's `w.pipelines` drives it: a pipeline created from
workspace files, updated, its updates and events read, edited, stopped and deleted; and a
bundle's pipeline deployed with `podium deploy`."""

from __future__ import annotations

import io
import json
import subprocess
import time
from pathlib import Path

import pytest
import requests
from databricks.sdk.errors import DatabricksError, NotFound, ResourceConflict
from databricks.sdk.service.pipelines import FileLibrary, PipelineLibrary
from databricks.sdk.service.workspace import ImportFormat

from tests.server.conftest import PODIUM, Server, env_for

SQL = b"""CREATE MATERIALIZED VIEW numbers AS SELECT id FROM range(4);
CREATE MATERIALIZED VIEW total AS SELECT sum(id) AS total FROM numbers;
"""
FINAL = ("COMPLETED", "FAILED", "CANCELED")


def wait_update(w, pipeline_id: str, update_id: str, timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while (state := w.pipelines.get_update(pipeline_id, update_id).update.state.value) \
            not in FINAL:
        assert time.monotonic() < deadline, state
        time.sleep(0.3)
    return state


def test_the_sdk_creates_updates_reads_stops_and_deletes_a_pipeline(server: Server) -> None:
    w = server.sdk()
    source = "/Users/pipes@example.com/etl/datasets.sql"
    w.workspace.mkdirs("/Users/pipes@example.com/etl")
    w.workspace.upload(source, io.BytesIO(SQL), format=ImportFormat.RAW, overwrite=True)
    libraries = [PipelineLibrary(file=FileLibrary(path=f"/Workspace{source}"))]
    created = w.pipelines.create(name="api_etl", catalog="main", schema="api_pipes",
                                 libraries=libraries)
    pipeline_id = created.pipeline_id
    got = w.pipelines.get(pipeline_id)
    assert (got.name, got.state.value, got.spec.schema) == ("api_etl", "IDLE", "api_pipes")
    assert pipeline_id in [p.pipeline_id for p in
                           w.pipelines.list_pipelines(filter="name LIKE '%api_e%'")]

    update_id = w.pipelines.start_update(pipeline_id, full_refresh=True).update_id
    assert wait_update(w, pipeline_id, update_id) == "COMPLETED"
    update = w.pipelines.get_update(pipeline_id, update_id).update
    assert update.full_refresh is True and update.cause.value == "API_CALL"
    assert [u.update_id for u in w.pipelines.list_updates(pipeline_id).updates] == [update_id]
    events = list(w.pipelines.list_pipeline_events(pipeline_id, order_by=["timestamp asc"]))
    assert events[0].event_type == "create_update"
    flows = {e.origin.flow_name: e.message for e in events if e.event_type == "flow_progress"}
    assert set(flows) == {"main.api_pipes.numbers", "main.api_pipes.total"}
    assert events[-1].message == "Run is COMPLETED."
    assert not list(w.pipelines.list_pipeline_events(pipeline_id, filter="level='ERROR'"))
    assert w.pipelines.get(pipeline_id).latest_updates[0].state.value == "COMPLETED"
    # The update is a run in the history: its page in the web UI shows the flows.
    run_id = server.get(f"/api/2.0/pipelines/{pipeline_id}/updates/{update_id}").json()[
        "update"]["podium"]["run_id"]
    browser = requests.Session()
    browser.post(f"{server.url}/login", data={"token": server.token, "next": "/"}, timeout=10)
    page = browser.get(f"{server.url}/runs/{run_id}", timeout=10).text
    assert "pipeline update COMPLETED, 2 flows" in page
    assert "main.api_pipes.numbers" in page and "main.api_pipes.total" in page

    checked = w.pipelines.start_update(pipeline_id, validate_only=True).update_id
    assert wait_update(w, pipeline_id, checked) == "COMPLETED"  # the graph, no flow run
    assert w.pipelines.get_update(pipeline_id, checked).update.validate_only is True

    w.pipelines.update(pipeline_id, name="api_etl", catalog="main", schema="api_pipes_2",
                       libraries=libraries)
    assert w.pipelines.get(pipeline_id).spec.schema == "api_pipes_2"
    second = w.pipelines.start_update(pipeline_id).update_id
    with pytest.raises(ResourceConflict):
        w.pipelines.start_update(pipeline_id)  # one active update at a time
    assert w.pipelines.stop_and_wait(pipeline_id).state.value == "IDLE"
    assert wait_update(w, pipeline_id, second) == "CANCELED"

    w.pipelines.delete(pipeline_id)
    with pytest.raises(NotFound):
        w.pipelines.get(pipeline_id)
    with pytest.raises(DatabricksError, match="not a name podium can keep"):
        w.pipelines.create(name="escapes", catalog="main", schema="../elsewhere")


def test_a_bundles_pipelines_are_deployed_with_stable_ids(server: Server,
                                                          tmp_path: Path) -> None:
    (tmp_path / "databricks.yml").write_text(
        "bundle: {name: deployed_pipes}\nresources:\n  pipelines:\n    etl:\n"
        "      name: deployed_etl\n      catalog: main\n      schema: deployed\n"
        "      libraries: [{file: {path: ./datasets.sql}}]\n")
    (tmp_path / "datasets.sql").write_bytes(SQL)

    def deploy() -> dict:
        done = subprocess.run([*PODIUM, "deploy", "--bundle", str(tmp_path), "--json"],
                              capture_output=True, text=True, env=env_for(server.home),
                              check=True)
        return json.loads(done.stdout)

    first, again = deploy(), deploy()
    pipeline_id = first["pipelines"]["etl"]
    assert again["pipelines"] == {"etl": pipeline_id}
    got = server.sdk().pipelines.get(pipeline_id)
    assert got.name == "deployed_etl" and got.spec.libraries[0].file.path == "./datasets.sql"
