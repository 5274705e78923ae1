"""The Workspace API (`/api/2.0/workspace/...`): notebooks, files and directories under
`$PODIUM_HOME/workspace`, which jobs' workspace paths (`/Users/...`) name."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError

from podium.server.bodies import Body
from podium.server.errors import ApiError, validation_error
from podium.server.workspace import user
from podium.store import workspace_files as files

router = APIRouter(prefix="/api/2.0/workspace", dependencies=[Depends(user)])

class ImportBody(Body):
    path: str
    content: str | None = None
    format: str | None = None
    language: str | None = None
    overwrite: bool = False


class PathBody(Body):
    path: str


class DeleteBody(Body):
    path: str
    recursive: bool = False


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
            raise validation_error(exc.errors()[0]) from None
        try:
            content = base64.b64decode(body.content or "", validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "content is not valid base64"
                           ) from None
    files.import_object(body.path, content, body.format or "SOURCE", body.language,
                        body.overwrite)
    return {}


@router.get("/export", response_model=None)
def export(path: str, format: str = "SOURCE", direct_download: bool = False
           ) -> dict[str, Any] | Response:
    """A notebook or file's content: base64 in JSON, or the bytes with direct_download."""
    data, file_type = files.export(path, format)
    if direct_download:
        return Response(data, media_type="application/octet-stream")
    return {"content": base64.b64encode(data).decode(), "file_type": file_type}


@router.get("/get-status")
def get_status(path: str) -> dict[str, Any]:
    """What the object at `path` is."""
    return files.get(path).view()


@router.get("/list")
def list_objects(path: str) -> dict[str, Any]:
    """The objects in directory `path`."""
    return {"objects": [o.view() for o in files.listing(path)]}


@router.post("/mkdirs")
def mkdirs(body: PathBody) -> dict[str, Any]:
    """Create a directory and its parents."""
    files.mkdirs(body.path)
    return {}


@router.post("/delete")
def delete(body: DeleteBody) -> dict[str, Any]:
    """Delete an object (a non-empty directory only with `recursive`)."""
    files.delete(body.path, body.recursive)
    return {}
