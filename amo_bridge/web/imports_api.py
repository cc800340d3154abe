"""The widget's import API under ``/widget/api/imports``: upload, progress, result, rejected rows.

Admins only. An import writes the client base — policies, contacts, money lines — and creates
contacts in amoCRM; finance reads exports and payroll but does not write the base, and the
report and rejected-rows file list clients with their phones, which DESIGN.md keeps away from
anyone who may not export the base. So finance is not allowed here.

``POST`` takes ``multipart/form-data`` (``file`` plus strict fields) and answers 202 with the
run; the job does the work and the widget polls ``GET /<id>`` for progress and the report.
Errors are problem+json in the caller's language with both languages under ``messages``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from sqlalchemy import select

from amo_bridge.i18n import LANGS, t
from amo_bridge.imports import KINDS, runs
from amo_bridge.imports.headers import parse_map
from amo_bridge.imports.problems import ImportFileError
from amo_bridge.imports.reading import OLE_MAGIC
from amo_bridge.models import ImportRun, Role
from amo_bridge.web.auth import widget_auth
from amo_bridge.web.problems import PROBLEM_TYPE_BASE, problem
from jobs.queue import enqueue_after_commit

bp = Blueprint("imports_api", __name__, url_prefix="/widget/api/imports")
ADMIN = Role.ADMIN.value


class ImportProblem(Exception):
    def __init__(self, status: int, key: str, **values: Any) -> None:
        super().__init__(key)
        self.status, self.key, self.values = status, key, values


@bp.errorhandler(ImportProblem)
def _problem(exc: ImportProblem) -> Response:
    lang = g.identity.lang if getattr(g, "identity", None) else "ru"
    titles = {404: "Not Found", 409: "Conflict", 422: "Unprocessable file"}
    return problem(exc.status, titles.get(exc.status, "Error"), t(exc.key, lang, **exc.values),
                   type_=PROBLEM_TYPE_BASE + exc.key,
                   messages={code: t(exc.key, code, **exc.values) for code in LANGS})


class Strict(Schema):
    class Meta:
        unknown = RAISE


class UploadForm(Strict):
    kind = fields.String(load_default="ours", validate=validate.OneOf(KINDS))
    dry_run = fields.Boolean(load_default=False)
    sheet = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))
    map = fields.List(fields.String(validate=validate.Length(min=2, max=500)),
                      load_default=list, validate=validate.Length(max=100))
    lang = fields.String(load_default=None, validate=validate.OneOf(LANGS))


class ListQuery(Strict):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    lang = fields.String(load_default=None, validate=validate.OneOf(LANGS))


class LangQuery(Strict):
    lang = fields.String(load_default=None, validate=validate.OneOf(LANGS))


def _runtime():
    return current_app.extensions["amo_bridge"]


def _form() -> dict[str, Any]:
    """The multipart fields as the schema expects: ``map`` repeats, the others do not."""
    raw: dict[str, Any] = {}
    for name, values in request.form.to_dict(flat=False).items():
        raw[name] = values if name == "map" or len(values) > 1 else values[0]
    return UploadForm().load(raw)


def _links(run: ImportRun) -> dict[str, str]:
    base = _runtime().settings.public_url.rstrip("/")
    links = {"self": base + url_for(".import_status", run_id=run.id)}
    if run.rejected_csv:
        links["rejected_csv"] = base + url_for(".rejected_csv", run_id=run.id)
    return links


def _view(run: ImportRun) -> dict[str, Any]:
    return {**runs.run_view(run, g.identity.lang), "links": _links(run)}


@bp.post("")
@widget_auth(ADMIN)
def upload():
    data = _form()
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError({"file": ["Missing data for required field."]})
    if set(request.files) - {"file"}:
        raise ValidationError({name: ["Unknown field."] for name in set(request.files) - {"file"}})
    content = upload.read()
    if not content.strip():
        raise ImportProblem(422, "import.file.empty")
    if content.startswith(OLE_MAGIC):
        raise ImportProblem(422, "import.file.xls")
    try:
        parse_map(data["map"])  # a typo in a mapping is answered now, not after the upload
    except ImportFileError as exc:
        raise ImportProblem(422, exc.key, **exc.params) from None
    who = g.identity
    runtime = _runtime()
    with runtime.session() as session:
        busy = runs.running_for(session, who.account_id, now=runtime.clock.now())
        if busy is not None:
            raise ImportProblem(409, "import.api.busy", id=busy.id)
        run = runs.create_run(
            session, account_id=who.account_id, filename=upload.filename or "import",
            content=content, kind=data["kind"], dry_run=data["dry_run"], sheet=data["sheet"],
            mapping=data["map"], lang=data["lang"] or who.lang, requested_by=who.amocrm_user_id,
            now=runtime.clock.now())
        enqueue_after_commit(session, "jobs.imports.run_import", run.id)
        run_id = run.id
    with runtime.session() as session:
        return jsonify(_view(session.get(ImportRun, run_id))), 202


def _own(session, run_id: int) -> ImportRun:
    run = session.get(ImportRun, run_id)
    if run is None or run.account_id != g.identity.account_id:
        raise ImportProblem(404, "import.api.not_found")
    return run


@bp.get("")
@widget_auth(ADMIN)
def list_imports():
    query = ListQuery().load(request.args.to_dict())
    with _runtime().session() as session:
        found = session.scalars(select(ImportRun).where(
            ImportRun.account_id == g.identity.account_id)
            .order_by(ImportRun.id.desc()).limit(query["limit"]))
        items = []
        for run in found:
            view = _view(run)
            view.pop("issues")  # the list stays light; the run's own page has them
            items.append(view)
        return jsonify({"items": items})


@bp.get("/<int:run_id>")
@widget_auth(ADMIN)
def import_status(run_id: int):
    LangQuery().load(request.args.to_dict())
    with _runtime().session() as session:
        return jsonify(_view(_own(session, run_id)))


@bp.get("/<int:run_id>/rejected.csv")
@widget_auth(ADMIN)
def rejected_csv(run_id: int):
    LangQuery().load(request.args.to_dict())
    with _runtime().session() as session:
        run = _own(session, run_id)
        if not run.rejected_csv:
            raise ImportProblem(404, "import.api.no_rejected")
        name = f"rejected-{run.id}.csv"
        return Response(run.rejected_csv, mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"',
                                 "Content-Type": "text/csv; charset=utf-8"})
