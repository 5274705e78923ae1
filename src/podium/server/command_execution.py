"""The Command Execution API (`/api/1.2/contexts/...`, `/api/1.2/commands/...`): an
execution context is a Python process of its own (`runtime/command_repl.py`) attached to
an all-purpose cluster through Spark Connect, keeping its variables between commands, as
Databricks' editor integrations and `w.command_execution` use it. Commands of a context
run one at a time, in order; cancel interrupts the Python code and the Spark work."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request

from podium.compute.errors import ClusterError
from podium.compute.sizing import cluster_log_path
from podium.engine import shared_clusters
from podium.server import bodies
from podium.server.clusters import row_of
from podium.server.errors import ApiError, invalid
from podium.server.workspace import user, workspace

router = APIRouter(prefix="/api/1.2", dependencies=[Depends(user)])

LANGUAGES = ("python", "sql")
ENDED = ("Finished", "Cancelled", "Error")


class CreateContext(bodies.Body):
    clusterId: str
    language: str = "python"


class ContextRef(bodies.Body):
    clusterId: str
    contextId: str


class Execute(bodies.Body):
    clusterId: str
    contextId: str
    language: str = "python"
    command: str


class CommandRef(bodies.Body):
    clusterId: str
    contextId: str
    commandId: str


@dataclass
class Command:
    command_id: str
    language: str
    text: str
    status: str = "Queued"
    results: dict[str, Any] | None = None


@dataclass
class Context:
    """A context's process, its Connect session and its commands."""

    context_id: str
    cluster_id: str
    status: str = "Pending"
    process: subprocess.Popen | None = None
    url: str = ""
    session_id: str = ""
    error: str = ""
    commands: dict[str, Command] = field(default_factory=dict)
    queue: threading.Lock = field(default_factory=threading.Lock)


def _contexts(request: Request) -> dict[str, Context]:
    if not hasattr(request.app.state, "command_contexts"):
        request.app.state.command_contexts = {}
    return request.app.state.command_contexts


def _language(text: str) -> str:
    language = text.lower()
    if language not in LANGUAGES:
        raise invalid(f"Language {text} is not available here; use python or sql")
    return language


def _start(store: Any, context: Context) -> None:
    """Start the context's process on its cluster (starting a terminated cluster)."""
    try:
        context.url = shared_clusters.address(store, context.cluster_id, None,
                                              start_missing=True)
        log = cluster_log_path(f"context.{context.context_id}")
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as sink:
            context.process = subprocess.Popen(
                [sys.executable, "-m", "podium.runtime.command_repl", context.url],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sink, text=True,
                start_new_session=True)
        assert context.process.stdout is not None
        hello = json.loads(context.process.stdout.readline() or "{}")
        if not hello.get("ready"):
            raise ClusterError(f"the context's process did not start; see {log}")
        context.session_id, context.status = hello["session_id"], "Running"
    except (ClusterError, OSError, ValueError) as exc:
        context.status, context.error = "Error", str(exc)


def _run(context: Context, command: Command) -> None:
    """Send a command to the context's process and keep its answer (in order)."""
    with context.queue:
        if command.status != "Queued":
            return
        process = context.process
        if context.status != "Running" or process is None or process.poll() is not None:
            command.status = "Error"
            command.results = {"resultType": "error", "summary": "The context is not running",
                               "cause": context.error or "The context's process ended"}
            return
        command.status = "Running"
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps({"language": command.language,
                                        "command": command.text}) + "\n")
        process.stdin.flush()
        answer = process.stdout.readline()
        command.results = json.loads(answer) if answer else {
            "resultType": "error", "summary": "The context's process ended",
            "cause": "The context's process ended while running the command"}
        if command.status == "Cancelling":
            command.status = "Cancelled"
        else:
            command.status = "Error" if command.results["resultType"] == "error" else \
                "Finished"


def _context(request: Request, cluster_id: str, context_id: str) -> Context:
    context = _contexts(request).get(context_id)
    if context is None or context.cluster_id != cluster_id:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Context {context_id} does not exist "
                       f"on cluster {cluster_id}")
    return context


@router.post("/contexts/create")
def create_context(request: Request, body: CreateContext) -> dict[str, Any]:
    """A new context on a cluster; `contexts/status` says when it is Running."""
    _language(body.language)
    row_of(request, body.clusterId)
    context = Context(uuid.uuid4().hex, body.clusterId)
    _contexts(request)[context.context_id] = context
    threading.Thread(target=_start, args=(workspace(request).store, context), daemon=True,
                     name="podium-context-start").start()
    return {"id": context.context_id}


@router.get("/contexts/status")
def context_status(request: Request, clusterId: str, contextId: str) -> dict[str, Any]:
    """Pending, Running or Error."""
    context = _context(request, clusterId, contextId)
    return {"id": context.context_id, "status": context.status}


@router.post("/contexts/destroy")
def destroy_context(request: Request, body: ContextRef) -> dict[str, Any]:
    """End the context's process (its variables go with it)."""
    context = _context(request, body.clusterId, body.contextId)
    _contexts(request).pop(context.context_id, None)
    if context.process is not None and context.process.poll() is None:
        with contextlib.suppress(OSError):
            assert context.process.stdin is not None
            context.process.stdin.close()
        try:
            context.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(context.process.pid, signal.SIGKILL)
    return {"id": context.context_id}


@router.post("/commands/execute")
def execute(request: Request, body: Execute) -> dict[str, Any]:
    """Queue a command in the context; `commands/status` gives its result."""
    context = _context(request, body.clusterId, body.contextId)
    command = Command(uuid.uuid4().hex, _language(body.language), body.command)
    context.commands[command.command_id] = command
    threading.Thread(target=_run, args=(context, command), daemon=True,
                     name="podium-command").start()
    return {"id": command.command_id}


def _command(request: Request, cluster_id: str, context_id: str, command_id: str) -> Any:
    context = _context(request, cluster_id, context_id)
    command = context.commands.get(command_id)
    if command is None:
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Command {command_id} does not exist")
    return context, command


@router.get("/commands/status")
def command_status(request: Request, clusterId: str, contextId: str,
                   commandId: str) -> dict[str, Any]:
    """Queued, Running, Cancelling, Finished, Cancelled or Error, with the results."""
    _context_of, command = _command(request, clusterId, contextId, commandId)
    out: dict[str, Any] = {"id": command.command_id, "status": command.status}
    if command.results is not None and command.status in ENDED:
        out["results"] = command.results
    return out


@router.post("/commands/cancel")
def cancel(request: Request, body: CommandRef) -> dict[str, Any]:
    """Interrupt a queued or running command: its Python code and its Spark work."""
    context, command = _command(request, body.clusterId, body.contextId, body.commandId)
    if command.status == "Queued":
        command.status = "Cancelled"
        command.results = {"resultType": "error", "summary": "Command cancelled",
                           "cause": "Cancelled before it started"}
    elif command.status == "Running":
        command.status = "Cancelling"
        if context.process is not None:  # the process interrupts its Spark work too
            with contextlib.suppress(ProcessLookupError):
                context.process.send_signal(signal.SIGINT)
    return {"id": command.command_id}
