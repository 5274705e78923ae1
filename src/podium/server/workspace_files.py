"""The Workspace API (`/api/2.0/workspace/...`): notebooks, files and directories under
`$PODIUM_HOME/workspace`, which jobs' workspace paths (`/Users/...`) name."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, ValidationError

from podium.server.errors import ApiError
from podium.server.workspace import user
from podium.store import workspace_files as files
from podium.store.workspace_files import WorkspaceError

router = APIRouter(prefix="/api/2.0/workspace", dependencies=[Depends(user)])

STATUS = {"RESOURCE_DOES_NOT_EXIST": 404, "RESOURCE_ALREADY_EXISTS": 409}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImportBody(_Body):
    path: str
    content: str | None = None
    format: str | None = None
    language: str | None = None
    overwrite: bool = False


class PathBody(_Body):
    path: str


class DeleteBody(_Body):
    path: str
    recursive: bool = False


def _failed(exc: WorkspaceError) -> ApiError:
    return ApiError(STATUS.get(exc.code, 400), exc.code, str(exc))


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("true", "1", "yes")


@router.post("/import")
async def import_(request: Request) -> dict[str, Any]:
    """Import a notebook or file: a JSON body with base64 `content`, or the multipart
    form databricks-sdk's `upload` sends."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("content")
        content = await upload.read() if hasattr(upload, "read") else \
            str(upload or "").encode()
        body = ImportBody(path=str(form.get("path") or ""), format=form.get("format"),
                          language=form.get("language"),
                          overwrite=_truthy(form.get("overwrite", "false")))
    else:
        try:
            body = ImportBody.model_validate_json(await request.body())
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first.get("loc", ())) or "request"
            if first.get("type") == "json_invalid":
                raise ApiError(400, "MALFORMED_REQUEST", "Invalid JSON given in the body of "
                               "the request") from None
            says = "the request does not take it" if first.get("type") == "extra_forbidden" \
                else first.get("msg", "invalid")
            raise ApiError(400, "INVALID_PARAMETER_VALUE",
                           f"Invalid parameter '{field}': {says}") from None
        try:
            content = base64.b64decode(body.content or "", validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "content is not valid base64"
                           ) from None
    try:
        files.import_object(body.path, content, body.format or "SOURCE", body.language,
                            body.overwrite)
    except WorkspaceError as exc:
        raise _failed(exc) from None
    return {}


@router.get("/export", response_model=None)
def export(path: str, format: str = "SOURCE", direct_download: bool = False
           ) -> dict[str, Any] | Response:
    """A notebook or file's content: base64 in JSON, or the bytes with direct_download."""
    try:
        data, file_type = files.export(path, format)
    except WorkspaceError as exc:
        raise _failed(exc) from None
    if direct_download:
        return Response(data, media_type="application/octet-stream")
    return {"content": base64.b64encode(data).decode(), "file_type": file_type}


@router.get("/get-status")
def get_status(path: str) -> dict[str, Any]:
    """What the object at `path` is."""
    try:
        return files.get(path).view()
    except WorkspaceError as exc:
        raise _failed(exc) from None


@router.get("/list")
def list_objects(path: str) -> dict[str, Any]:
    """The objects in directory `path`."""
    try:
        return {"objects": [o.view() for o in files.listing(path)]}
    except WorkspaceError as exc:
        raise _failed(exc) from None


@router.post("/mkdirs")
def mkdirs(body: PathBody) -> dict[str, Any]:
    """Create a directory and its parents."""
    try:
        files.mkdirs(body.path)
    except WorkspaceError as exc:
        raise _failed(exc) from None
    return {}


@router.post("/delete")
def delete(body: DeleteBody) -> dict[str, Any]:
    """Delete an object (a non-empty directory only with `recursive`)."""
    try:
        files.delete(body.path, body.recursive)
    except WorkspaceError as exc:
        raise _failed(exc) from None
    return {}
