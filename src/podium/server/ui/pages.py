"""The web UI of `podium serve`: server-rendered pages over the same data and the same
code as the Jobs API (a button calls the endpoint's function), htmx for live parts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from podium.runtime.dbutils import display_path
from podium.server import clusters as clusters_api
from podium.server import jobs as jobs_api
from podium.server import runs as runs_api
from podium.server.bodies import (
    INT64_MAX,
    PathInt64,
    RepairRun,
    RunId,
    RunNow,
    UpdateJob,
    int64,
)
from podium.server.errors import ApiError
from podium.server.ui import display, graph, log_lines
from podium.server.ui.session import (
    COOKIE,
    CsrfRefused,
    LoginNeeded,
    check_csrf,
    login_url,
    page_user,
)
from podium.server.workspace import workspace
from podium.store import RunNotFound, registry
from podium.store.views import run_summary, run_view

HERE = Path(__file__).resolve().parent.parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(colour=graph.colour, symbol=display.symbol,
                             trigger_of=display.trigger)
templates.env.filters.update(when=display.when, duration=display.duration)
router = APIRouter(include_in_schema=False)
PAGE = 50  # rows per page of the runs list
LOG_TAIL_BYTES = 64 * 1024
ACTIVE = ("PENDING", "QUEUED", "BLOCKED", "RUNNING", "TERMINATING", "WAITING_FOR_RETRY")


def install(app: FastAPI) -> None:
    """Add the pages, their static files and their login redirect to the app."""
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(router)

    @app.exception_handler(LoginNeeded)
    def to_login(request: Request, exc: LoginNeeded) -> Response:
        if request.headers.get("hx-request"):  # a live fragment: reload into the form
            return Response(status_code=204, headers={"HX-Redirect": login_url(exc.next_url)})
        return RedirectResponse(login_url(exc.next_url), status_code=303)

    @app.exception_handler(CsrfRefused)
    def refused(request: Request, exc: CsrfRefused) -> Response:
        return HTMLResponse("<h1>Refused</h1><p>The form did not carry this session's CSRF "
                            "token; reload the page and try again.</p>", status_code=403)


def render(request: Request, name: str, **values: Any) -> HTMLResponse:
    """A page with the signed-in user and CSRF token in its context."""
    user, csrf = page_user(request)
    return templates.TemplateResponse(request, name, {"user": user, "csrf": csrf, **values})


def _back(target: str) -> RedirectResponse:
    return RedirectResponse(target, status_code=303)


# ---- login -------------------------------------------------------------------------

@router.get("/login")
def login_form(request: Request, next: str = "/", failed: bool = False) -> HTMLResponse:
    return templates.TemplateResponse(request, "login.html", {"next": next, "failed": failed})


@router.post("/login")
def login(request: Request, token: str = Form(...), next: str = Form("/")) -> Response:
    try:
        workspace(request).auth.check(token.strip())
    except ApiError:
        return _back(f"/login?failed=1&next={quote(next, safe='')}")
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = _back(target)
    response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    check_csrf(request, csrf)
    response = _back("/login")
    response.delete_cookie(COOKIE, path="/")
    return response


# ---- jobs --------------------------------------------------------------------------

@router.get("/")
def jobs_page(request: Request, after: int | None = None) -> HTMLResponse:
    page_user(request)
    store = workspace(request).store
    rows, more = registry.page(store, PAGE, after)
    jobs = []
    for row in rows:
        view = registry.job_view(row)
        settings = view["settings"]
        recent, _ = store.run_page(workspace_job_id=row.job_id, limit=5)
        jobs.append({
            "job_id": row.job_id, "name": settings.get("name") or f"job {row.job_id}",
            "source": view["podium"]["source"],
            "trigger": registry.start_text(settings) or "manual",
            "paused": registry.paused(settings),
            "parameters": settings.get("parameters", []),
            "runs": [run_summary(r) for r in recent]})
    return render(request, "jobs.html", jobs=jobs,
                  next_after=rows[-1].job_id if more and rows else None)


def _next_fires(settings: dict[str, Any], count: int = 3) -> list[str]:
    """The schedule's next fire times in its time zone (none for other jobs)."""
    from datetime import UTC, datetime

    from podium.spec.models import Job
    from podium.triggers.loop import next_times

    try:
        job = Job.model_validate(settings)
    except ValueError:
        return []
    return [t.strftime("%Y-%m-%d %H:%M:%S %Z") for t in next_times(job, count,
                                                                  datetime.now(UTC))]


@router.post("/jobs/{job_id}/run-now")
async def run_now(request: Request, job_id: PathInt64) -> Response:
    user, _ = page_user(request)
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    params = {str(k)[len("param."):]: str(v) for k, v in form.items()
              if str(k).startswith("param.")}
    answer = jobs_api.run_now(request, RunNow(job_id=job_id, job_parameters=params or None),
                              who=user)
    return _back(f"/runs/{answer['run_id']}")


@router.post("/jobs/{job_id}/pause")
def set_pause(request: Request, job_id: PathInt64, status: str = Form(...),
              csrf: str = Form("")) -> Response:
    """Pause or resume what starts the job, through jobs/update as a client would."""
    page_user(request)
    check_csrf(request, csrf)
    if status not in ("PAUSED", "UNPAUSED"):
        return HTMLResponse(f"No pause status '{status}'", status_code=400)
    settings = registry.settings_of(jobs_api.job_row(request, job_id))
    changed = registry.pause_changes(settings, status)
    if changed:
        jobs_api.update(request, UpdateJob(job_id=job_id, new_settings=changed))
    return _back(f"/jobs/{job_id}")


@router.get("/jobs/{job_id}")
def job_matrix(request: Request, job_id: PathInt64,
               before: int | None = int64(None)) -> HTMLResponse:
    """A job's page: what starts it (with the next fire times and a pause toggle), its
    parameters, Run now, and Databricks' matrix of the last runs by task."""
    page_user(request)
    store = workspace(request).store
    row = jobs_api.job_row(request, job_id)
    rows, more = store.run_page(workspace_job_id=job_id, before_id=before, limit=20)
    runs = [run_view(store, r.id) for r in rows]
    keys: list[str] = []
    for run in runs:
        for task in run["tasks"]:
            if task["task_key"] not in keys:
                keys.append(task["task_key"])
    cells = {(run["run_id"], t["task_key"]): t for run in runs for t in run["tasks"]}
    settings = registry.settings_of(row)
    return render(request, "matrix.html", job=registry.job_view(row), runs=runs, keys=keys,
                  cells=cells, state_of=graph.state_of,
                  trigger=registry.start_text(settings) or "manual",
                  paused=registry.paused(settings), next_fires=_next_fires(settings),
                  parameters=settings.get("parameters", []),
                  next_before=rows[-1].id if more and rows else None)


# ---- runs --------------------------------------------------------------------------

TRIGGERS = ("ONE_TIME", "PERIODIC", "FILE_ARRIVAL", "TABLE", "CONTINUOUS", "RETRY",
            "RUN_JOB_TASK")


@router.get("/runs")
def runs_page(request: Request, job_id: str = "", state: str = "", trigger: str = "",
              before: int | None = int64(None)) -> HTMLResponse:
    page_user(request)
    store = workspace(request).store
    job = int(job_id) if job_id.strip().isdigit() and int(job_id) <= INT64_MAX else None
    rows, more = store.run_page(workspace_job_id=job, active_only=state == "active",
                                completed_only=state == "completed", before_id=before,
                                limit=PAGE, trigger=trigger if trigger in TRIGGERS else None)
    return render(request, "runs.html", runs=[run_summary(r) for r in rows], job_id=job,
                  state=state, trigger=trigger, triggers=TRIGGERS,
                  next_before=rows[-1].id if more and rows else None)


def _run(request: Request, run_id: int) -> dict[str, Any]:
    try:
        return run_view(workspace(request).store, run_id)
    except RunNotFound:
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Run {run_id} does not exist.") \
            from None


def _live_values(request: Request, run: dict[str, Any]) -> dict[str, Any]:
    tasks = run["tasks"]
    for task in tasks:  # a 10,000-iteration for-each is summarised, not drawn
        each = task.get("for_each_task")
        if each:
            each["shown"] = each["iterations"][:100]
    failed = {t["task_key"] for t in tasks
              if graph.state_of(t) not in ("SUCCESS", "EXCLUDED", "SKIPPED")}
    active = run["state"]["life_cycle_state"] in ACTIVE
    now_ms = int(time.time() * 1000)
    return {"run": run, "active": active,
            "elapsed": now_ms - run["start_time"] if active and run["start_time"]
            else run["run_duration"],
            "preselected": failed | _dependents(tasks, failed),
            "svg": graph.task_graph(tasks, _node_link),
            "bars": graph.timeline(run, now_ms),
            "state_of": graph.state_of, "clusters": _clusters_used(request, run),
            "attempts": _attempts(run)}


def _node_link(task: dict[str, Any]) -> str:
    """A graph node opens its task run, or a run_job task's child run."""
    child = task.get("run_job_task")
    return f"/runs/{child['run_id']}" if child else f"/task-runs/{task['run_id']}"


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: PathInt64) -> HTMLResponse:
    page_user(request)
    return render(request, "run.html", **_live_values(request, _run(request, run_id)))


def _clusters_used(request: Request, run: dict[str, Any]) -> list[dict[str, Any]]:
    """The clusters the run's tasks ran on, each with its Spark UI while this server
    holds it."""
    held = _spark_uis(request)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for task in run["tasks"]:
        instance = task.get("cluster_instance") or {}
        if not instance.get("cluster_id"):
            continue
        key = (instance["cluster_id"], instance.get("spark_context_id") or "")
        entry = found.setdefault(key, {"cluster_id": key[0], "application": key[1],
                                       "spark_ui": held.get(key[1]), "tasks": []})
        entry["tasks"].append(task["task_key"])
    return list(found.values())


def _spark_uis(request: Request) -> dict[str, str | None]:
    """The Spark UI of each application this server's clusters run, by application id."""
    return {c["spark_context_id"]: c["spark_ui_url"]
            for c in workspace(request).service.clusters_view() if c["spark_context_id"]}


def _attempts(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The original run and each repair, with the tasks it ran and how they ended."""
    history = run.get("repair_history", [])
    out = []
    for i, entry in enumerate(history):
        began = entry.get("start_time") or 0
        until = history[i + 1].get("start_time") if i + 1 < len(history) else None
        ran = []
        for task in run["tasks"]:
            for attempt in task.get("attempts", []):
                start = attempt.get("start_time") or 0
                if start >= began and (until is None or start < until):
                    ran.append({"task_key": task["task_key"],
                                "state": attempt.get("result_state") or "RUNNING"})
        out.append({**entry, "ran": ran})
    return out


@router.get("/runs/{run_id}/live")
def run_live(request: Request, run_id: PathInt64) -> HTMLResponse:
    """The part of the run page that changes; it asks again while the run is active."""
    page_user(request)
    return render(request, "run_live.html", **_live_values(request, _run(request, run_id)))


def _dependents(tasks: list[dict[str, Any]], keys: set[str]) -> set[str]:
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for task in tasks:
            if task["task_key"] in found:
                continue
            if any(d["task_key"] in keys | found for d in task.get("depends_on", [])):
                found.add(task["task_key"])
                changed = True
    return found


@router.post("/runs/{run_id}/cancel")
def cancel(request: Request, run_id: PathInt64, csrf: str = Form("")) -> Response:
    page_user(request)
    check_csrf(request, csrf)
    runs_api.cancel(request, RunId(run_id=run_id))
    return _back(f"/runs/{run_id}")


@router.post("/runs/{run_id}/repair")
async def repair(request: Request, run_id: PathInt64) -> Response:
    page_user(request)
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    tasks = [str(v) for v in form.getlist("task")]
    params = {str(k)[len("param."):]: str(v) for k, v in form.items()
              if str(k).startswith("param.")}
    runs_api.repair(request, RepairRun(run_id=run_id, rerun_tasks=tasks or None,
                                       rerun_all_failed_tasks=not tasks,
                                       job_parameters=params or None))
    return _back(f"/runs/{run_id}")


# ---- task runs ---------------------------------------------------------------------

def _task(request: Request, task_run_id: int) -> tuple[Any, list[Any]]:
    try:
        return workspace(request).store.task_run(task_run_id)
    except RunNotFound:
        raise ApiError(404, "RESOURCE_DOES_NOT_EXIST",
                       f"Task run {task_run_id} does not exist.") from None


def _log_file(attempts: list[Any]) -> Path | None:
    return Path(attempts[-1].log_path) if attempts and attempts[-1].log_path else None


def read_tail(path: Path | None, offset: int | None = None) -> tuple[str, int]:
    """Text of a log from `offset` (None: its last 64 KB) and the offset after it; a
    100 MB log is never read whole."""
    if path is None or not path.exists():
        return "", 0
    size = path.stat().st_size
    start = max(0, size - LOG_TAIL_BYTES) if offset is None else min(offset, size)
    with path.open("rb") as f:
        f.seek(start)
        data = f.read(min(size - start, LOG_TAIL_BYTES * 4))
    return data.decode("utf-8", errors="replace"), start + len(data)


@router.get("/task-runs/{task_run_id}")
def task_page(request: Request, task_run_id: PathInt64, level: str = "ALL",
              q: str = "") -> HTMLResponse:
    page_user(request)
    task, attempts = _task(request, task_run_id)
    text, offset = read_tail(_log_file(attempts))
    level = level.upper() if level.upper() in log_lines.LEVELS else "ALL"
    lines = log_lines.shown(text.splitlines(), level, q)
    ws = workspace(request)
    run = run_view(ws.store, task.run_id)
    view = next((t for t in run["tasks"] if t["run_id"] == task_run_id), None)
    spark_ui = _spark_uis(request).get(task.spark_context_id or "")
    return render(request, "task.html", task=task, view=view, run=run, lines=lines,
                  spark_ui=spark_ui, tables=_displayed(_log_file(attempts)),
                  offset=offset, level=level, q=q, levels=log_lines.LEVELS,
                  filtered=level != "ALL" or bool(q), active=task.life in ACTIVE,
                  truncated=offset > len(text.encode()))


def _displayed(log: Path | None, most: int = 10) -> list[dict[str, Any]]:
    """The tables the attempt showed with `display()` (the first `most`)."""
    if log is None:
        return []
    try:
        with display_path(log).open(encoding="utf-8") as source:
            return [json.loads(line) for line, _ in zip(source, range(most), strict=False)]
    except (OSError, ValueError):
        return []


@router.get("/task-runs/{task_run_id}/log-tail")
def log_tail(request: Request, task_run_id: PathInt64,
             offset: int = Query(0, ge=0, le=INT64_MAX)) -> HTMLResponse:
    """New log lines after `offset`, while the task runs (appended by htmx)."""
    page_user(request)
    task, attempts = _task(request, task_run_id)
    text, after = read_tail(_log_file(attempts), offset)
    active = task.life in ACTIVE
    if active and text and not text.endswith("\n"):  # the rest of the line comes later
        text, rest = text[:text.rfind("\n") + 1], text[text.rfind("\n") + 1:]
        after -= len(rest.encode())
    return render(request, "log_tail.html", task=task, lines=log_lines.shown(text.splitlines()),
                  offset=after,
                  active=task.life in ACTIVE)


@router.get("/task-runs/{task_run_id}/log")
def log_download(request: Request, task_run_id: PathInt64) -> Response:
    page_user(request)
    _, attempts = _task(request, task_run_id)
    path = _log_file(attempts)
    if path is None or not path.exists():
        return HTMLResponse("No log yet.", status_code=404)
    return FileResponse(path, media_type="text/plain", filename=f"task-{task_run_id}.log")


# ---- clusters ----------------------------------------------------------------------

@router.get("/clusters")
def clusters_page(request: Request) -> HTMLResponse:
    """Shared clusters of the workspace and the job clusters this server holds."""
    page_user(request)
    shared = clusters_api.list_clusters(request)["clusters"]
    ws = workspace(request)
    held = ws.service.clusters_view()
    sessions = ws.connect.sessions() if ws.connect is not None else []
    return render(request, "clusters.html", shared=shared, held=held, sessions=sessions)


@router.post("/clusters/{cluster_id}/{action}")
def cluster_action(request: Request, cluster_id: str, action: str,
                   csrf: str = Form("")) -> Response:
    page_user(request)
    check_csrf(request, csrf)
    body = clusters_api.ClusterId(cluster_id=cluster_id)
    if action == "start":
        clusters_api.start(request, body)
    elif action == "stop":
        clusters_api.terminate(request, body)
    else:
        return HTMLResponse(f"No cluster action '{action}'", status_code=404)
    return _back("/clusters")
