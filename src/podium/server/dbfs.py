"""The DBFS API (`/api/2.0/dbfs/...`) over the `dbfs:/` tree tasks see (`$PODIUM_HOME/dbfs`;
`/databricks-datasets` read-only), so what a client writes a task reads and the other way
round. Nothing is seen half-written: `put` and a `create`/`add-block`/`close` stream write
a temporary file beside the target (left out of listings) and rename it into place."""

from __future__ import annotations

import base64
import binascii
import contextlib
import itertools
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError

from podium.files import TEMP_PREFIX, write_whole
from podium.runtime.dbutils import Fs
from podium.server.bodies import INT64_MAX, Body, Int64
from podium.server.errors import coded, validation_error
from podium.server.workspace import user


class _FileSystemErrors(APIRoute):
    """A route whose file system errors (a name too long, a move into itself) are the
    client's 400 IO_ERROR, as Databricks answers them, never a 500."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except OSError as exc:
                raise coded("IO_ERROR", f"{exc.strerror or exc}") from None

        return handle


router = APIRouter(prefix="/api/2.0/dbfs", dependencies=[Depends(user)],
                   route_class=_FileSystemErrors)

MAX_BLOCK_BYTES = 1 << 20  # a `put`'s contents, an `add-block`'s data, a `read`
DEFAULT_READ_BYTES = 1 << 19
IDLE_STREAM_SECONDS = 600  # a stream without a call for this long is dropped, as there


class PutBody(Body):
    path: str
    contents: str | None = None
    overwrite: bool = False


class CreateBody(Body):
    path: str
    overwrite: bool = False


class BlockBody(Body):
    handle: Int64
    data: str


class HandleBody(Body):
    handle: Int64


class PathBody(Body):
    path: str


class DeleteBody(Body):
    path: str
    recursive: bool = False


class MoveBody(Body):
    source_path: str
    destination_path: str


@dataclass
class Stream:
    """An upload under way: where it goes, the file it is written to, its last call."""

    target: Path
    temp: Path
    touched: float = field(default_factory=time.monotonic)


class Streams:
    """The open upload streams of this server, by handle."""

    def __init__(self) -> None:
        self._open: dict[int, Stream] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def open(self, target: Path) -> int:
        """A new stream to `target`; its handle."""
        self.drop_idle()
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
        os.close(fd)
        with self._lock:
            handle = next(self._ids)
            self._open[handle] = Stream(target, Path(temp))
        return handle

    def get(self, handle: int) -> Stream:
        """The open stream `handle`, touched; RESOURCE_DOES_NOT_EXIST otherwise."""
        with self._lock:
            stream = self._open.get(handle)
        if stream is None:
            raise coded("RESOURCE_DOES_NOT_EXIST", f"There is no open stream with handle "
                        f"{handle}; open one with dbfs/create")
        stream.touched = time.monotonic()
        return stream

    def close(self, handle: int) -> Stream:
        """Take stream `handle` out of the open ones."""
        stream = self.get(handle)
        with self._lock:
            self._open.pop(handle, None)
        return stream

    def drop_idle(self) -> None:
        """Forget streams idle too long, and their partial files."""
        now = time.monotonic()
        with self._lock:
            idle = [h for h, s in self._open.items() if now - s.touched > IDLE_STREAM_SECONDS]
            dropped = [self._open.pop(h) for h in idle]
        for stream in dropped:
            stream.temp.unlink(missing_ok=True)


def _streams(request: Request) -> Streams:
    state = request.app.state
    if not hasattr(state, "dbfs_streams"):
        state.dbfs_streams = Streams()
    return state.dbfs_streams


def _shown(path: str) -> str:
    """A DBFS path as the API answers it: absolute, without `dbfs:`."""
    return "/" + path.removeprefix("dbfs:").strip("/")


def _local(path: str, write: bool = False) -> Path:
    """The local file of an absolute DBFS path; a 400 for any other path."""
    if not (path.startswith("/") or path.startswith("dbfs:/")) or "\0" in path or \
            ".." in PurePosixPath(_shown(path)).parts:
        raise coded("INVALID_PARAMETER_VALUE", f"Path must be absolute: {path!r} (as "
                    "/folder/file or dbfs:/folder/file)")
    try:
        return Fs.writable(_shown(path)) if write else Fs.local(_shown(path))
    except PermissionError as exc:
        raise coded("PERMISSION_DENIED", str(exc)) from None


def _info(shown: str, local: Path) -> dict[str, Any]:
    stat = local.stat()
    return {"path": shown, "is_dir": local.is_dir(),
            "file_size": 0 if local.is_dir() else stat.st_size,
            "modification_time": int(stat.st_mtime * 1000)}


def _existing(path: str, write: bool = False) -> Path:
    local = _local(path, write)
    if not local.exists():
        raise coded("RESOURCE_DOES_NOT_EXIST", f"No file or directory exists on path "
                    f"{_shown(path)}.")
    return local


def _new_file(path: str, overwrite: bool) -> Path:
    """The local file a write of `path` replaces, its folder made; RESOURCE_ALREADY_EXISTS
    for a file kept by `overwrite: false` or a folder."""
    local = _local(path, write=True)
    if _shown(path) == "/" or local.is_dir() or (local.exists() and not overwrite):
        raise coded("RESOURCE_ALREADY_EXISTS", f"A file or directory already exists at the "
                    f"input path {_shown(path)}.")
    _make_folder(path, local.parent)
    return local


def _make_folder(path: str, folder: Path) -> None:
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            raise coded("RESOURCE_ALREADY_EXISTS", f"Cannot create directory {_shown(path)}:"
                        f" a file exists on a prefix of it")
    folder.mkdir(parents=True, exist_ok=True)


def _decoded(data: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise coded("INVALID_PARAMETER_VALUE", f"{what} is not valid base64") from None
    if len(raw) > MAX_BLOCK_BYTES:
        raise coded("MAX_BLOCK_SIZE_EXCEEDED", f"{what} is {len(raw)} bytes; at most "
                    f"{MAX_BLOCK_BYTES} a call (stream larger files with dbfs/create, "
                    "add-block and close)")
    return raw


def _replace(temp: Path, target: Path) -> None:
    try:
        os.replace(temp, target)
    except OSError:
        temp.unlink(missing_ok=True)
        raise


@router.get("/get-status")
def get_status(path: str) -> dict[str, Any]:
    """What the file or directory at `path` is."""
    return _info(_shown(path), _existing(path))


@router.get("/list")
def list_files(path: str) -> dict[str, Any]:
    """The entries of directory `path` (a file lists itself)."""
    local = _existing(path)
    if not local.is_dir():
        return {"files": [_info(_shown(path), local)]}
    base = _shown(path).rstrip("/")
    entries = [e for e in sorted(local.iterdir()) if not e.name.startswith(TEMP_PREFIX)]
    return {"files": [_info(f"{base}/{e.name}", e) for e in entries]}


@router.post("/mkdirs")
def mkdirs(body: PathBody) -> dict[str, Any]:
    """Make a directory and its parents."""
    _make_folder(body.path, _local(body.path, write=True))
    return {}


@router.post("/put")
async def put(request: Request) -> dict[str, Any]:
    """Write a whole file: base64 `contents` (1 MB at most) in a JSON body, or a
    multipart form whose `contents` file is streamed to disk."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("contents")
        if not hasattr(upload, "read"):
            raise coded("INVALID_PARAMETER_VALUE", "a multipart put needs a `contents` file")
        target = _new_file(str(form.get("path") or ""),
                           str(form.get("overwrite", "false")).lower() == "true")
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as out:
                await upload.seek(0)
                while chunk := await upload.read(MAX_BLOCK_BYTES):
                    out.write(chunk)
            _replace(Path(temp), target)
        except BaseException:  # a failed write (a full disk) leaves nothing behind
            Path(temp).unlink(missing_ok=True)
            raise
        return {}
    try:
        body = PutBody.model_validate_json(await request.body())
    except ValidationError as exc:
        raise validation_error(exc.errors()[0]) from None
    data = _decoded(body.contents or "", "contents")
    write_whole(_new_file(body.path, body.overwrite), data)
    return {}


@router.post("/create")
def create(body: CreateBody, request: Request) -> dict[str, Any]:
    """Open a stream that writes `path` at `close`; its handle."""
    return {"handle": _streams(request).open(_new_file(body.path, body.overwrite))}


@router.post("/add-block")
def add_block(body: BlockBody, request: Request) -> dict[str, Any]:
    """Append a base64 block (1 MB at most) to an open stream."""
    stream = _streams(request).get(body.handle)
    data = _decoded(body.data, "data")
    with stream.temp.open("ab") as out:
        out.write(data)
    return {}


@router.post("/close")
def close(body: HandleBody, request: Request) -> dict[str, Any]:
    """End a stream: its file takes the place of its path, whole."""
    stream = _streams(request).close(body.handle)
    _replace(stream.temp, stream.target)
    return {}


@router.get("/read")
def read(path: str, offset: int = Query(0, ge=0, le=INT64_MAX),
         length: int = Query(DEFAULT_READ_BYTES, ge=0, le=INT64_MAX)) -> dict[str, Any]:
    """Up to `length` bytes of a file from `offset`, base64."""
    local = _existing(path)
    if local.is_dir():
        raise coded("INVALID_PARAMETER_VALUE", f"Cannot read {_shown(path)}: it is a "
                    "directory")
    if length > MAX_BLOCK_BYTES:
        raise coded("MAX_READ_SIZE_EXCEEDED", f"length {length} is over the limit of "
                    f"{MAX_BLOCK_BYTES} bytes a read")
    with local.open("rb") as f:
        f.seek(offset)
        data = f.read(length)
    return {"bytes_read": len(data), "data": base64.b64encode(data).decode()}


@router.post("/move")
def move(body: MoveBody) -> dict[str, Any]:
    """Move a file or directory (a directory with everything in it)."""
    source = _existing(body.source_path, write=True)  # nothing leaves /databricks-datasets
    target = _local(body.destination_path, write=True)
    if target.exists():
        raise coded("RESOURCE_ALREADY_EXISTS", f"A file or directory already exists at "
                    f"{_shown(body.destination_path)}.")
    _make_folder(body.destination_path, target.parent)
    shutil.move(source, target)
    return {}


@router.post("/delete")
def delete(body: DeleteBody) -> dict[str, Any]:
    """Delete a file or directory (a non-empty one with `recursive`); a path that is not
    there is already deleted."""
    local = _local(body.path, write=True)
    if _shown(body.path) == "/":
        raise coded("INVALID_PARAMETER_VALUE", "The root of DBFS cannot be deleted")
    if local.is_dir() and not local.is_symlink():
        if any(local.iterdir()) and not body.recursive:
            raise coded("IO_ERROR", f"Directory {_shown(body.path)} is not empty; delete it "
                        "with recursive: true")
        shutil.rmtree(local)
    else:
        with contextlib.suppress(FileNotFoundError):
            local.unlink()
    return {}

