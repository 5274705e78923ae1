"""for_each_task in the loop: references as inputs, retries per iteration, scale."""

from __future__ import annotations

import json

from podium.engine.executor import Executor
from podium.engine.model import Run
from podium.engine.recorder import Recorder
from podium.engine.restore import job_snapshot
from podium.engine.states import Result
from podium.spec import load_bundle
from podium.store import open_store
from podium.store.views import run_view


def run_loop(write_bundle, inputs: str, extra: str = "", task_extra: str = "",
             before: str = "") -> tuple[Run, dict]:
    root = write_bundle(f"""bundle: {{name: fe}}
resources:
  jobs:
    j:
      tasks:
{before}        - task_key: loop
{extra}          for_each_task:
            inputs: '{inputs}'
            concurrency: 100
            task:
              task_key: one
{task_extra}              python_task:
                function: 'tests.engine.funcs:noop'
                parameters: {{v: '{{{{input}}}}'}}
""")
    job = load_bundle(root).jobs["j"]
    store = open_store()
    run = Run("j", job, root, {}, {})
    store.create_run(run, store.record_job("j", "j", "fe", str(root), "default",
                                           job_snapshot(job)))
    executor = Executor()
    Recorder(store, executor)
    executor.submit(run)
    executor.run_until_done([run])
    return run, run_view(store, run.run_id)


def run_in_memory(root) -> Run:
    """Run a bundle's job `j` on a fresh executor, without a history."""
    run = Run("j", load_bundle(root).jobs["j"], root, {}, {})
    executor = Executor()
    executor.submit(run)
    executor.run_until_done([run])
    return run


def test_ten_thousand_trivial_inputs_complete(write_bundle) -> None:
    run, view = run_loop(write_bundle, json.dumps(list(range(10_000))))
    assert run.result is Result.SUCCESS
    stats = view["tasks"][0]["for_each_task"]["stats"]["task_run_stats"]
    assert stats["succeeded_iterations"] == 10_000 and stats["active_iterations"] == 0


def test_inputs_from_an_upstream_task_value_with_fields(write_bundle) -> None:
    before = ("        - {task_key: make, python_task: {function: 'tests.engine.funcs:publish',"
              " parameters: {key: items, value: '[{\"id\": 1}, {\"id\": 2}]'}}}\n")
    _, view = run_loop(write_bundle, "{{tasks.make.values.items}}",
                       extra="          depends_on: [{task_key: make}]\n",
                       before=before)
    iterations = view["tasks"][1]["for_each_task"]["iterations"]
    assert [i["input"] for i in iterations] == [{"id": 1}, {"id": 2}]


def test_inputs_that_do_not_resolve_to_an_array_fail_the_loop(write_bundle) -> None:
    before = ("        - {task_key: make, python_task: {function: 'tests.engine.funcs:publish',"
              " parameters: {key: items, value: 'not a list'}}}\n")
    run, _ = run_loop(write_bundle, "{{tasks.make.values.items}}",
                      extra="          depends_on: [{task_key: make}]\n", before=before)
    loop = run.task_runs["loop"]
    assert loop.result is Result.FAILED and loop.error.startswith("for_each_task inputs:")


def test_retries_apply_per_iteration(write_bundle, tmp_path) -> None:
    root = write_bundle(f"""bundle: {{name: fe}}
resources:
  jobs:
    j:
      tasks:
        - task_key: loop
          for_each_task:
            inputs: '["a", "b", "c"]'
            concurrency: 3
            task:
              task_key: one
              max_retries: 1
              python_task:
                function: 'tests.engine.funcs:flaky'
                parameters: {{marker: '{tmp_path}/count-{{{{input}}}}', failures: '1'}}
""")
    run = run_in_memory(root)
    loop = run.task_runs["loop"]
    assert loop.result is Result.SUCCESS
    assert [[a.result for a in it.attempts] for it in loop.iterations] == \
        [[Result.FAILED, Result.SUCCESS]] * 3
    assert [it.exit_value for it in loop.iterations] == ["succeeded after 1 failures"] * 3


def test_fail_fast_tag_cancels_the_run_at_the_first_failed_iteration(write_bundle) -> None:
    root = write_bundle("""bundle: {name: fe}
resources:
  jobs:
    j:
      tags: {podium.fail_fast: "true"}
      tasks:
        - task_key: loop
          for_each_task:
            inputs: '["fail-me", "a", "b", "c", "d", "e"]'
            concurrency: 1
            task:
              task_key: one
              python_task: {function: 'tests.engine.funcs:nap', parameters: {v: '{{input}}'}}
""")
    run = run_in_memory(root)
    loop = run.task_runs["loop"]
    assert run.result is Result.CANCELED
    assert "fails fast" in run.message
    assert loop.done == 1 and len([it for it in loop.iterations if it.attempts]) == 1
