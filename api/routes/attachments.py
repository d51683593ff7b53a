"""Files of a notice being prepared: upload one (multipart), list them.

Uploading needs the `admin` scope, reading `reports`; a notice outside the key's ward is
not found, as for the other notice routes. The body cap of this route alone is raised to
the largest file Loa keeps (`LOA_ATTACHMENTS__MAX_*`), see `api.app.body_limits`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile
from pydantic import BaseModel, ConfigDict

from api.deps import AdminCaller, ServicesDep, SessionDep, TenantDep, require_scope
from api.errors import PROBLEM_RESPONSES, problem_responses
from api.params import IdPath
from api.schemas import Listing
from broadcasts.attachments import add_attachment, attachments_of, guess_mime, size_limit
from broadcasts.errors import AttachmentRejected
from broadcasts.models import Attachment, AttachmentKind
from broadcasts.notices import get_notice

router = APIRouter(
    prefix="/notices",
    tags=["attachments"],
    dependencies=[Depends(require_scope("reports"))],
    responses={**PROBLEM_RESPONSES, **problem_responses(404)},
)


class AttachmentPublic(BaseModel):
    """A file sent with a notice, as Loa keeps it."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "notice_id": 42,
                    "position": 0,
                    "kind": "document",
                    "file_name": "cong-van-123.pdf",
                    "mime_type": "application/pdf",
                    "size": 183204,
                    "sha256": "9f2c…",
                    "created_at": "2026-12-01T08:30:00Z",
                }
            ]
        },
    )

    id: int
    notice_id: int
    position: int
    kind: AttachmentKind
    file_name: str
    mime_type: str
    size: int
    sha256: str
    created_at: datetime


def _kind_of(mime_type: str) -> AttachmentKind:
    if mime_type.startswith("image/"):
        return AttachmentKind.photo
    if mime_type.startswith("audio/"):
        return AttachmentKind.voice
    return AttachmentKind.document


@router.post(
    "/{notice_id}/attachments",
    status_code=201,
    summary="Attach a file to a notice being prepared",
    description=(
        "A multipart upload with `file` (a photo: JPEG, PNG, WebP; a document: PDF, DOC, "
        "DOCX, XLS, XLSX, ODT, ODS, TXT; a voice note: OGG) and, optionally, `kind` "
        "(`photo`, `document`, `voice`; by default from the file's type). Only a draft "
        "takes files; at most `LOA_ATTACHMENTS__MAX_FILES` per notice. Every group then "
        "receives the files with the notice."
    ),
    responses=problem_responses(413),
)
async def upload(
    notice_id: IdPath,
    session: SessionDep,
    caller: AdminCaller,
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="the file")],
    kind: Annotated[AttachmentKind | None, Form(description="photo, document or voice")] = None,
) -> AttachmentPublic:
    settings = services.settings.attachments
    name = file.filename or ""
    mime = (file.content_type or "").split(";", 1)[0].strip().lower()
    if not mime or mime == "application/octet-stream":
        mime = guess_mime(name) or mime
    chosen = kind or _kind_of(mime)
    limit = size_limit(chosen, settings)
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise AttachmentRejected(
            f"the file is over {limit} bytes; a {chosen} may be at most {limit} bytes",
            reason="too_big",
            limit=limit,
        )
    attachment = await add_attachment(
        session=session,
        notice_id=notice_id,
        kind=chosen,
        file_name=name,
        mime_type=mime,
        data=data,
        settings=settings,
        within=caller.tenant,
    )
    notice = await get_notice(session=session, notice_id=notice_id, within=caller.tenant)
    await caller.record(session, "notice.attach", f"notice:{notice_id}", ward_id=notice.ward_id)
    return AttachmentPublic.model_validate(attachment)


@router.get("/{notice_id}/attachments", summary="The files of a notice, in album order")
async def index(
    notice_id: IdPath, session: SessionDep, tenant: TenantDep
) -> Listing[AttachmentPublic]:
    await get_notice(session=session, notice_id=notice_id, within=tenant)
    rows: list[Attachment] = await attachments_of(session=session, notice_id=notice_id)
    return Listing(data=[AttachmentPublic.model_validate(a) for a in rows], count=len(rows))
