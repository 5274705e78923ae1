"""The Files API (`/api/2.0/fs/files/{path}`, `/api/2.0/fs/directories/{path}`) for files in
volumes (`/Volumes/<catalog>/<schema>/<volume>/...`, the folders tasks read) and in the
workspace (`/Workspace/...`). Uploads and downloads are streamed, so a file of any size
passes in constant memory; an upload goes to a hidden temporary file beside its path and is
renamed into place at its end, so nobody reads half of it and a broken upload leaves
nothing."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from email.utils import formatdate
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse

from podium.compute import unity, unity_objects
from podium.compute.errors import CatalogError
from podium.files import TEMP_PREFIX
from podium.server.errors import ApiError
from podium.server.paging import offset_of
from podium.server.workspace import user
from podium.spec import workspace as workspace_paths
from podium.spec.workspace import WorkspacePathError

router = APIRouter(prefix="/api/2.0/fs", dependencies=[Depends(user)])

MAX_PAGE = 1000  # directory entries a page holds at most, as on Databricks


def _missing(path: str, what: str = "file") -> ApiError:
    return ApiError(404, "NOT_FOUND", f"The {what} being accessed is not found: {path}")


def _bad(path: str, why: str) -> ApiError:
    return ApiError(400, "INVALID_PARAMETER_VALUE", f"Invalid path '{path}': {why}")


def local(path: str) -> Path:
    """The local file or folder of a Files API path: in a volume that exists, or in the
    workspace; a 400 for any other path, a 404 for a volume that is not there."""
    parts = path.split("/")[1:] if path.startswith("/") else []
    if not parts or any(p in ("", ".", "..") for p in parts) or "\x00" in path:
        raise _bad(path, "give an absolute path without '.', '..' or empty parts, such as "
                   "/Volumes/main/default/my_volume/file.csv")
    if parts[0] == "Volumes":
        if len(parts) < 4:
            raise _bad(path, "files live in a volume: /Volumes/<catalog>/<schema>/<volume>/")
        try:
            unity_objects.volume(*parts[1:4])
        except CatalogError as exc:
            raise _missing(path, "volume") from exc
        return unity.volumes_root().joinpath(*parts[1:])
    if parts[0] == "Workspace":
        try:
            return workspace_paths.local(path)
        except WorkspacePathError as exc:
            raise _bad(path, str(exc)) from None
    raise _bad(path, "the Files API reaches /Volumes/... and /Workspace/... paths")


def _volume_root(path: str) -> bool:
    parts = path.split("/")[1:]
    return parts[0] == "Volumes" and len(parts) == 4


def _headers(file: Path) -> dict[str, str]:
    stat = file.stat()
    return {"content-length": str(stat.st_size), "content-type": "application/octet-stream",
            "last-modified": formatdate(stat.st_mtime, usegmt=True)}


@router.put("/files/{path:path}", status_code=204)
async def upload(path: str, request: Request, overwrite: bool = True) -> Response:
    """Write the request's body to the file `path`, made with its folders; an existing
    file only with `overwrite` (the default)."""
    path = "/" + path.lstrip("/")
    target = local(path)
    if target.is_dir() or _volume_root(path):
        raise ApiError(409, "ALREADY_EXISTS", f"{path} is a directory")
    if target.exists() and not overwrite:
        raise ApiError(409, "ALREADY_EXISTS", f"The file {path} already exists; pass "
                       "overwrite=true to replace it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ApiError(409, "ALREADY_EXISTS", f"A file is on the way to {path}") from None
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return Response(status_code=204)


def _existing_file(path: str) -> Path:
    path = "/" + path.lstrip("/")
    file = local(path)
    if not file.is_file():
        raise _missing(path)
    return file


@router.get("/files/{path:path}")
def download(path: str) -> FileResponse:
    """The file's bytes, streamed; `Range` gives a part of it."""
    file = _existing_file(path)
    headers = _headers(file)
    del headers["content-length"]  # the response sets it, also for a range
    return FileResponse(file, headers=headers, media_type="application/octet-stream")


@router.head("/files/{path:path}")
def file_metadata(path: str) -> Response:
    """The file's length, type and time, without its bytes."""
    return Response(status_code=200, headers=_headers(_existing_file(path)))


@router.delete("/files/{path:path}", status_code=204)
def delete_file(path: str) -> Response:
    """Remove the file."""
    _existing_file(path).unlink()
    return Response(status_code=204)


def _existing_folder(path: str) -> Path:
    path = "/" + path.lstrip("/").rstrip("/")
    folder = local(path)
    if not folder.is_dir():
        raise _missing(path, "directory")
    return folder


@router.put("/directories/{path:path}", status_code=204)
def create_directory(path: str) -> Response:
    """Make the folder and its parents; one that exists is fine."""
    shown = "/" + path.lstrip("/").rstrip("/")
    folder = local(shown)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ApiError(409, "ALREADY_EXISTS", f"A file is at or on the way to {shown}") \
            from None
    return Response(status_code=204)


@router.get("/directories/{path:path}")
def list_directory(path: str, page_size: int = Query(MAX_PAGE, ge=0, le=2**31 - 1),
                   page_token: str | None = None) -> dict[str, Any]:
    """The folder's entries by name, a page at a time (at most 1000)."""
    shown = "/" + path.lstrip("/").rstrip("/")
    folder = _existing_folder(shown)
    entries = sorted((e for e in os.scandir(folder) if not e.name.startswith(TEMP_PREFIX)),
                     key=lambda e: e.name)
    start, size = offset_of(page_token), min(page_size or MAX_PAGE, MAX_PAGE)
    contents = []
    for entry in entries[start:start + size]:
        with contextlib.suppress(OSError):  # removed while we listed
            stat = entry.stat()
            is_dir = entry.is_dir()
            item: dict[str, Any] = {"path": f"{shown}/{entry.name}" + ("/" if is_dir else ""),
                                    "name": entry.name, "is_directory": is_dir,
                                    "last_modified": int(stat.st_mtime * 1000)}
            if not is_dir:
                item["file_size"] = stat.st_size
            contents.append(item)
    out: dict[str, Any] = {"contents": contents}
    if start + size < len(entries):
        out["next_page_token"] = str(start + size)
    return out


@router.head("/directories/{path:path}")
def directory_metadata(path: str) -> Response:
    """200 when the folder exists, 404 otherwise."""
    _existing_folder(path)
    return Response(status_code=200)


@router.delete("/directories/{path:path}", status_code=204)
def delete_directory(path: str) -> Response:
    """Remove an empty folder (a volume itself stays: drop it through Unity Catalog)."""
    shown = "/" + path.lstrip("/").rstrip("/")
    folder = _existing_folder(shown)
    if _volume_root(shown) or folder == workspace_paths.root():
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"{shown} is a volume or the "
                       "workspace's root; it is not deleted through the Files API")
    if any(not e.name.startswith(TEMP_PREFIX) for e in os.scandir(folder)):
        raise ApiError(409, "DIRECTORY_NOT_EMPTY", f"The directory {shown} is not empty; "
                       "delete its contents first")
    shutil.rmtree(folder)  # what is left are temporary files of broken uploads
    return Response(status_code=204)
