"""How `podium validate` shows a bundle: jobs, their task DAGs, clusters, ignored fields."""

from __future__ import annotations

from graphlib import TopologicalSorter

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from podium.spec.describe import task_compute
from podium.spec.errors import NOTE
from podium.spec.loader import Bundle
from podium.spec.models import Job, Task


def _task_label(task: Task) -> str:
    compute = task_compute(task)
    where = f" on {compute}" if compute else (
        " (no Spark)" if not task.uses_spark else " on default")
    deps = ", ".join(d.task_key + (f"={d.outcome}" if d.outcome else "") for d in task.depends_on)
    after = f" after {deps}" if deps else ""
    run_if = f" [magenta]run_if {task.run_if.value}[/]" if task.run_if.value != "ALL_SUCCESS" \
        else ""
    return (f"[bold]{escape(task.task_key)}[/] [green]{task.task_type}[/]{escape(where)}"
            f"{escape(after)}{run_if}")


def job_tree(key: str, job: Job) -> Tree:
    """A job's tasks in dependency order, with compute, dependencies and run_if."""
    title = f"[bold]{escape(key)}[/]" + (f" ({escape(job.name or '')})" if job.name != key
                                         else "")
    tree = Tree(title)
    order = TopologicalSorter({t.task_key: [d.task_key for d in t.depends_on]
                               for t in job.tasks}).static_order()
    for task_key in order:
        task = job.task(task_key)
        node = tree.add(_task_label(task))
        if task.for_each_task is not None:
            fe = task.for_each_task
            node.add(escape(f"for each of {fe.inputs} (concurrency {fe.concurrency}): ")
                     + _task_label(fe.task))
    for cluster in job.job_clusters:
        conf = cluster.new_cluster
        tree.add(escape(f"cluster {cluster.job_cluster_key}: master {conf.master}"
                        + (f", remote {conf.remote}" if conf.remote else "")))
    return tree


def print_bundle(bundle: Bundle, console: Console) -> None:
    """The human view of `podium validate`."""
    console.print(f"Bundle [bold]{escape(bundle.name)}[/] (target "
                  f"[bold]{escape(bundle.target)}[/]) from {escape(', '.join(bundle.files))}",
                  soft_wrap=True)
    for key, job in bundle.jobs.items():
        console.print(job_tree(key, job))
    for key, cluster in bundle.clusters.items():
        console.print(escape(f"shared cluster {key}: master {cluster.master}"))
    for warning in bundle.warnings:
        if warning.severity == "warning":
            console.print(str(warning), style="yellow", markup=False, highlight=False,
                          soft_wrap=True)
    ignored = [w for w in bundle.warnings if w.severity == NOTE]
    if ignored:  # every Databricks bundle has some: listed here once, never during runs
        console.print("Ignored locally (cloud-only settings):")
        for note in ignored:
            console.print(f"  {note.location}: {note.message.removesuffix(' is ignored locally')}",
                          markup=False, highlight=False, soft_wrap=True)
    console.print(f"[green]Valid:[/] {len(bundle.jobs)} job(s), "
                  f"{sum(len(j.tasks) for j in bundle.jobs.values())} task(s)")
