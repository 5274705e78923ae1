"""`podium deploy`, `podium tokens` and `podium login` as a user runs them."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLES

PODIUM = [sys.executable, "-m", "podium"]


def cli(*args: str, home: Path, check: bool = True,
        **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PODIUM, *args], capture_output=True, text=True, check=check,
                          env={**os.environ, "PODIUM_HOME": str(home), **env})


BUNDLE = """bundle: {name: deployed}
resources:
  jobs:
%s"""
JOB = """    %s:
      name: %s
      tasks:
        - {task_key: t, python_task: {function: 'tests.engine.funcs:ok'}}
"""


def test_deploy_keeps_job_ids_updates_and_deletes(tmp_path: Path) -> None:
    home, root = tmp_path / "home", tmp_path / "b"
    root.mkdir()
    (root / "databricks.yml").write_text(BUNDLE % (JOB % ("a", "first") + JOB % ("b", "b")))
    first = json.loads(cli("deploy", "--bundle", str(root), "--json", home=home).stdout)
    (root / "databricks.yml").write_text(BUNDLE % (JOB % ("a", "renamed") + JOB % ("c", "c")))
    second = cli("deploy", "--bundle", str(root), home=home).stdout
    assert f"a -> {first['jobs']['a']}" in second
    assert f"deleted job {first['jobs']['b']} (no longer in the bundle)" in second
    listed = json.loads(cli("jobs", "list", "--json", home=home).stdout)["jobs"]
    by_key = {j["podium"]["key"]: j for j in listed}
    assert set(by_key) == {"a", "c"}
    assert by_key["a"]["job_id"] == first["jobs"]["a"]
    assert by_key["a"]["settings"]["name"] == "renamed"
    assert by_key["a"]["podium"]["source"] == "BUNDLE"
    table = cli("jobs", "list", home=home).stdout
    assert "renamed" in table and "deployed:a" in table


def test_deploy_of_a_bad_bundle_is_exit_2_and_registers_nothing(tmp_path: Path) -> None:
    home, root = tmp_path / "home", tmp_path / "b"
    root.mkdir()
    (root / "databricks.yml").write_text(BUNDLE % "    a: {tasks: [{task_key: t}]}\n")
    done = cli("deploy", "--bundle", str(root), home=home, check=False)
    assert done.returncode == 2 and "has no task type" in done.stderr
    assert json.loads(cli("jobs", "list", "--json", home=home).stdout)["jobs"] == []


def test_tokens_create_list_revoke_and_login_writes_a_profile(tmp_path: Path) -> None:
    home = tmp_path / "home"
    value = cli("tokens", "create", "--comment", "ci", "--lifetime-seconds", "3600",
                home=home).stdout.strip()
    assert value.startswith("dapi")
    forever = cli("tokens", "create", "--lifetime-seconds", str(10**12), home=home, check=False)
    assert forever.returncode == 2 and "--lifetime-seconds" in forever.stderr
    listed = json.loads(cli("tokens", "list", "--json", home=home).stdout)["token_infos"]
    assert [t["comment"] for t in listed] == ["ci"] and value not in json.dumps(listed)
    assert value not in (home / "podium.db").read_bytes().decode(errors="replace")
    cli("tokens", "revoke", listed[0]["token_id"], home=home)
    assert json.loads(cli("tokens", "list", "--json", home=home).stdout)["token_infos"] == []
    assert cli("tokens", "revoke", "nope", home=home, check=False).returncode == 2
    for host in ("127.0.0.1:9999", "http://", "http://[::1", "http://localhost:port"):
        bad = cli("login", "--host", host, home=home, HOME=str(tmp_path), check=False)
        assert bad.returncode == 2 and "is not a URL" in bad.stderr  # and no profile:
        assert not (tmp_path / ".databrickscfg").exists()
    done = cli("login", "--host", "http://127.0.0.1:9999", home=home, HOME=str(tmp_path))
    assert "wrote profile [podium]" in done.stdout
    profile = configparser.ConfigParser()
    profile.read(tmp_path / ".databrickscfg")
    assert profile["podium"]["host"] == "http://127.0.0.1:9999"
    assert profile["podium"]["token"].startswith("dapi")
    assert oct((tmp_path / ".databrickscfg").stat().st_mode & 0o777) == "0o600"


def test_serve_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    done = cli("serve", "--host", "0.0.0.0", "--port", "0", home=tmp_path / "home",
               check=False)
    assert done.returncode == 2
    assert "only when a token exists" in done.stderr and "Traceback" not in done.stderr


def test_deploy_of_an_example_bundle(tmp_path: Path) -> None:
    done = cli("deploy", "--bundle", str(EXAMPLES / "seed002_controller"), home=tmp_path)
    assert {line.split(" -> ")[0] for line in done.stdout.splitlines()} == {
        "controller", "pipeline_a", "pipeline_b", "pipeline_c"}
