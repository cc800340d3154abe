"""Export requests from the widget: refused for managers (403, audited), queued for admins and
finance; status with a short-lived signed download link; the download; the audit list.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request, send_file, url_for
from sqlalchemy import select

from amo_bridge.exports import service
from amo_bridge.exports.links import LINK_SECONDS, LinkError, read_download, sign_download
from amo_bridge.i18n import pick_lang, t
from amo_bridge.models import ExportRecord, ExportStatus, Role
from amo_bridge.reports.common import ReportFilter
from amo_bridge.web.auth import widget_auth
from amo_bridge.web.money_common import (
    ApiProblem,
    identity,
    iso,
    load_body,
    load_query,
    runtime,
    scoped_filter,
    sees_everyone,
)
from amo_bridge.web.money_schemas import AuditQuery, ExportRequest, LangQuery
from amo_bridge.web.problems import PROBLEM_TYPE_BASE, problem
from jobs import exports as export_jobs  # importing it registers the export sweepable
from jobs.queue import enqueue_after_commit

bp = Blueprint("exports", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _exports_dir():
    return runtime().settings.instance_path / "exports"


def _public(record: ExportRecord) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": record.id,
        "kind": record.kind,
        "status": record.status,
        "filters": record.filters,
        "requested_at": iso(record.requested_at),
        "finished_at": iso(record.finished_at),
        "rows": record.rows,
        "status_url": _absolute(url_for(".export_status", export_id=record.id)),
    }
    if record.status == ExportStatus.DONE:
        token = sign_download(
            current_app.config["SECRET_KEY"],
            export_id=record.id,
            account_id=record.account_id,
            clock=runtime().clock,
        )
        body.update(
            file_name=record.file_name,
            size_bytes=record.size_bytes,
            download_url=_absolute(url_for(".download", export_id=record.id, token=token)),
            link_expires_in=LINK_SECONDS,
        )
    if record.status == ExportStatus.FAILED:
        body["error"] = record.error
    return body


def _absolute(path: str) -> str:
    # The widget runs on the amoCRM page: links must name the bridge's own origin.
    return runtime().settings.public_url.rstrip("/") + path


@bp.post("/exports")
@widget_auth()
def request_export():
    data = load_body(ExportRequest())
    who = identity()
    requester = service.Requester(
        channel="widget", amocrm_user_id=who.amocrm_user_id, roles=who.roles
    )
    # A manager's attempt is recorded with the filters as asked, then refused.
    flt = (
        scoped_filter(who, data)
        if requester.may_export
        else ReportFilter(
            period=data["parsed_period"],
            manager=data.get("manager"),
            product=data.get("product"),
            insurer=data.get("insurer"),
        )
    )
    export_lang = data.get("lang") or who.lang
    with runtime().session() as session:
        record = service.request_export(
            session,
            account_id=who.account_id,
            requester=requester,
            kind=data["kind"],
            flt=flt,
            lang=export_lang,
            clock=runtime().clock,
        )
        if record.status == ExportStatus.REFUSED:
            # Committed below (the audit must survive the refusal), then answered 403.
            refused_id = record.id
        else:
            refused_id = None
            enqueue_after_commit(session, export_jobs.RUN_EXPORT, record.id)
    if refused_id is not None:
        raise ApiProblem(403, "export.forbidden")
    with runtime().session() as session:
        record = session.get(ExportRecord, record.id)
        return jsonify(_public(record)), 202


def _visible(session, export_id: int) -> ExportRecord:
    who = identity()
    record = session.get(ExportRecord, export_id)
    if record is None or record.account_id != who.account_id:
        raise ApiProblem(404, "export.not_found")
    if not sees_everyone(who) and record.actor_amocrm_id != who.amocrm_user_id:
        raise ApiProblem(404, "export.not_found")
    return record


@bp.get("/exports/<int:export_id>")
@widget_auth()
def export_status(export_id: int):
    load_query(LangQuery())
    with runtime().session() as session:
        return jsonify(_public(_visible(session, export_id)))


@bp.get("/exports/<int:export_id>/download")
def download(export_id: int):
    """The signed link is the credential (a browser download carries no JWT)."""
    lang = pick_lang(request.headers.get("Accept-Language"), request.args.get("lang"))
    token = request.args.get("token", "")
    try:
        signed_id, account_id = read_download(
            current_app.config["SECRET_KEY"], token, clock=runtime().clock
        )
    except LinkError as exc:
        key = "export.link_expired" if exc.reason == "expired" else "export.link_invalid"
        return _problem(403, key, lang)
    with runtime().session() as session:
        record = session.get(ExportRecord, export_id)
        if signed_id != export_id or record is None or record.account_id != account_id:
            return _problem(403, "export.link_invalid", lang)
        path = service.export_file(record, _exports_dir())
        if path is None:
            return _problem(410, "export.gone", lang)
        service.record_download(session, record, clock=runtime().clock, remote=request.remote_addr)
        name = record.file_name or path.name
    response = send_file(path, mimetype=XLSX, as_attachment=True, download_name=name, max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


def _problem(status: int, key: str, lang: str):
    return problem(
        status,
        "Forbidden" if status == 403 else "Gone",
        t(key, lang),
        type_=PROBLEM_TYPE_BASE + key,
        messages={code: t(key, code) for code in ("ru", "en")},
    )


@bp.get("/exports")
@widget_auth(Role.ADMIN.value)
def export_audit():
    """The export audit: every request (refused ones too) — who, when, filters, rows."""
    data = load_query(AuditQuery())
    statement = (
        select(ExportRecord)
        .where(ExportRecord.account_id == identity().account_id)
        .order_by(ExportRecord.id.desc())
        .limit(data["limit"])
    )
    if data["before_id"] is not None:
        statement = statement.where(ExportRecord.id < data["before_id"])
    with runtime().session() as session:
        records = session.scalars(statement).all()
        items = [
            {
                "id": r.id,
                "kind": r.kind,
                "status": r.status,
                "channel": r.channel,
                "actor": r.actor_amocrm_id,
                "actor_roles": r.actor_roles.split(",") if r.actor_roles else [],
                "requested_at": iso(r.requested_at),
                "finished_at": iso(r.finished_at),
                "filters": r.filters,
                "rows": r.rows,
                "downloads": r.downloads,
                "last_download_at": iso(r.last_download_at),
            }
            for r in records
        ]
    return jsonify(
        exports=items, next_before_id=items[-1]["id"] if len(items) == data["limit"] else None
    )
