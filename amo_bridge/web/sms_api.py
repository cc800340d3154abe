"""The widget's SMS API under ``/widget/api/sms``: templates (admins edit, everyone previews),
the SMS history of a deal or contact, sending from a template, phone confirmation, manager
profiles, and the admin's "needs attention" list with channel states.

Strict input (marshmallow, unknown fields refused); errors are problem+json in the caller's
language, with both languages under ``messages``.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from marshmallow import Schema
from sqlalchemy import or_, select

from amo_bridge.i18n import t
from amo_bridge.models import (
    Account,
    AuditLog,
    Contact,
    Deal,
    Role,
    SmsChannel,
    SmsMessage,
    SmsStatus,
    User,
)
from amo_bridge.templates import VARIABLES, TemplateProblem, preview
from amo_bridge.web.auth import widget_auth
from amo_bridge.web.problems import PROBLEM_TYPE_BASE, problem
from amo_bridge.web.sms_schemas import (
    ConsentInput,
    PreviewInput,
    ProfileInput,
    SendInput,
    TemplateInput,
    VerifyConfirmInput,
    VerifyStartInput,
    message_json,
)
from jobs.queue import enqueue_after_commit
from jobs.sms import secret_for
from sms import attention, channel, verification
from sms.config import load_config
from sms.outbox import Draft, queue_message
from sms.templates_store import list_templates, reset_template, save_template

bp = Blueprint("sms_api", __name__, url_prefix="/widget/api/sms")
ADMIN = Role.ADMIN.value


class SmsProblem(Exception):
    def __init__(self, status: int, key: str, *, message: str | None = None, **extra: Any):
        super().__init__(key)
        self.status, self.key, self.message, self.extra = status, key, message, extra


@bp.errorhandler(SmsProblem)
def _problem(exc: SmsProblem) -> Response:
    lang = g.identity.lang if getattr(g, "identity", None) else "ru"
    text = exc.message or t(exc.key, lang, **exc.extra.pop("values", {}))
    titles = {403: "Forbidden", 404: "Not Found", 409: "Conflict", 422: "Validation failed",
              429: "Too Many Requests"}
    return problem(exc.status, titles.get(exc.status, "Error"), text,
                   type_=PROBLEM_TYPE_BASE + exc.key, **exc.extra)


def _runtime():
    return current_app.extensions["amo_bridge"]


def _body(schema: Schema) -> dict[str, Any]:
    return schema.load(request.get_json(silent=False) or {})


def _account_id() -> int:
    return g.identity.account_id


def _config(session):
    return load_config(session, session.get(Account, _account_id()))


def _lang(session) -> str:
    return _config(session).lang


# --- templates ------------------------------------------------------------------------------


@bp.get("/templates")
@widget_auth()
def get_templates():
    with _runtime().session() as session:
        items = list_templates(session, _account_id(), _lang(session))
    index = 0 if g.identity.lang == "ru" else 1
    return jsonify(templates=[{
        "code": item.code, "name": item.name, "kind": item.kind, "body": item.body,
        "is_default": item.is_default, "is_active": item.is_active} for item in items],
        variables={name: texts[index] for name, texts in VARIABLES.items()})


@bp.put("/templates/<code>")
@widget_auth(ADMIN)
def put_template(code: str):
    data = _body(TemplateInput())
    with _runtime().session() as session:
        try:
            row = save_template(session, _account_id(), code, by=g.identity.amocrm_user_id,
                                **data)
        except TemplateProblem as exc:
            raise SmsProblem(422, exc.key, message=exc.message(g.identity.lang),
                             line=exc.line, errors={"body": [exc.message(g.identity.lang)]},
                             ) from None
        except ValueError as exc:
            raise SmsProblem(422, "validation", message=str(exc)) from None
        return jsonify(code=row.code, version=row.version, kind=row.kind)


@bp.delete("/templates/<code>")
@widget_auth(ADMIN)
def delete_template(code: str):
    with _runtime().session() as session:
        return jsonify(reset=reset_template(session, _account_id(), code))


@bp.post("/templates/preview")
@widget_auth()
def post_preview():
    data = _body(PreviewInput())
    with _runtime().session() as session:
        limit = _config(session).max_segments_warning
    try:
        shown = preview(data["body"], max_segments=limit)
    except TemplateProblem as exc:
        raise SmsProblem(422, exc.key, message=exc.message(g.identity.lang), line=exc.line,
                         errors={"body": [exc.message(g.identity.lang)]}) from None
    parts = shown.segments
    warning = (t("sms.api.segments_warning", g.identity.lang, count=parts.count, limit=limit)
               if shown.too_long else None)
    return jsonify(text=shown.text, segments=parts.count, encoding=parts.encoding,
                   units=parts.units, per_part=parts.per_part, warning=warning)


# --- history and sending --------------------------------------------------------------------


@bp.get("/messages")
@widget_auth()
def get_messages():
    deal_id, contact_id = request.args.get("deal_id", type=int), request.args.get(
        "contact_id", type=int)
    if set(request.args) - {"deal_id", "contact_id", "lang"} or not (deal_id or contact_id):
        raise SmsProblem(422, "validation", message="give deal_id or contact_id (amoCRM ids)")
    with _runtime().session() as session:
        conditions = []
        if deal_id:
            conditions.append(SmsMessage.deal_id.in_(select(Deal.id).where(
                Deal.account_id == _account_id(), Deal.amocrm_id == deal_id)))
        if contact_id:
            conditions.append(SmsMessage.contact_id.in_(select(Contact.id).where(
                Contact.account_id == _account_id(), Contact.amocrm_id == contact_id)))
        rows = session.scalars(select(SmsMessage).where(
            SmsMessage.account_id == _account_id(), or_(*conditions))
            .order_by(SmsMessage.id.desc()).limit(200))
        return jsonify(messages=[message_json(m) for m in rows])


@bp.post("/messages")
@widget_auth()
def postmessage_json():
    data = _body(SendInput())
    key = request.headers.get("Idempotency-Key", "").strip()[:100] or uuid.uuid4().hex
    runtime = _runtime()
    with runtime.session() as session:
        deal = session.scalar(select(Deal).where(Deal.account_id == _account_id(),
                                                 Deal.amocrm_id == data["deal_id"])
                              ) if data["deal_id"] else None
        contact = session.scalar(select(Contact).where(
            Contact.account_id == _account_id(), Contact.amocrm_id == data["contact_id"])
        ) if data["contact_id"] else None
        contact_id = contact.id if contact else (deal.contact_id if deal else None)
        if deal is None and contact is None:
            raise SmsProblem(404, "sms.api.not_found", values={"what": "deal/contact"})
        queued = queue_message(session, Draft(
            account_id=_account_id(), rule="manual",
            key=f"manual:{g.identity.amocrm_user_id}:{key}",
            template_code=data["template_code"], contact_id=contact_id,
            deal_id=deal.id if deal else None, manager_amocrm_id=g.identity.amocrm_user_id),
            clock=runtime.clock)
        message = queued.message
        if queued.created and message.status == SmsStatus.QUEUED:
            enqueue_after_commit(session, "jobs.sms.send_message", message.id)
        elif queued.created:
            enqueue_after_commit(session, "jobs.sms.write_notes", _account_id())
        body = message_json(message)
    return jsonify(message=body), 201 if queued.created else 200


@bp.put("/contacts/<int:contact_id>/consent")
@widget_auth()
def put_consent(contact_id: int):
    """Record the client's marketing consent and/or SMS opt-out (audited)."""
    data = _body(ConsentInput())
    runtime = _runtime()
    with runtime.session() as session:
        contact = session.scalar(select(Contact).where(Contact.account_id == _account_id(),
                                                       Contact.amocrm_id == contact_id))
        if contact is None:
            raise SmsProblem(404, "sms.api.not_found", values={"what": "contact"})
        now = runtime.clock.now()
        if data["marketing_consent"] is not None:
            contact.marketing_consent_at = now if data["marketing_consent"] else None
        if data["opted_out"] is not None:
            contact.opted_out_at = now if data["opted_out"] else None
        session.add(AuditLog(account_id=_account_id(), at=now, action="sms.consent",
                             actor_amocrm_id=g.identity.amocrm_user_id,
                             target=f"contact:{contact_id}", details=request.get_json()))
        return jsonify(marketing_consent=contact.marketing_consent_at is not None,
                       opted_out=contact.opted_out_at is not None)


# --- phone confirmation ---------------------------------------------------------------------


@bp.post("/verifications")
@widget_auth()
def start_verification():
    data = _body(VerifyStartInput())
    runtime = _runtime()
    with runtime.session() as session:
        contact = session.scalar(select(Contact).where(
            Contact.account_id == _account_id(), Contact.amocrm_id == data["contact_id"]))
        if contact is None:
            raise SmsProblem(404, "sms.api.not_found", values={"what": "contact"})
        try:
            row, queued = verification.start(
                session, _account_id(), contact.id, secret=secret_for(runtime),
                clock=runtime.clock, phone=data["phone"], requested_by=g.identity.amocrm_user_id)
        except verification.VerificationRefused as exc:
            raise SmsProblem(429 if "cooldown" in exc.key or "many" in exc.key else 422,
                             exc.key, values=exc.values) from None
        if queued.message.status == SmsStatus.QUEUED:
            enqueue_after_commit(session, "jobs.sms.send_message", queued.message.id)
        answer = {"id": row.id, "phone": row.phone, "expires_at": row.expires_at.isoformat(),
                  "message": message_json(queued.message)}
    return jsonify(answer), 201


@bp.post("/verifications/<int:verification_id>/confirm")
@widget_auth()
def confirm_verification(verification_id: int):
    data = _body(VerifyConfirmInput())
    runtime = _runtime()
    with runtime.session() as session:
        result = verification.confirm(session, _account_id(), verification_id, data["code"],
                                      secret=secret_for(runtime), clock=runtime.clock)
        if result.ok:
            enqueue_after_commit(session, "jobs.sms.sync_verification", verification_id)
    # committed before answering: a wrong attempt counts even though the answer is "no"
    if not result.ok:
        status = 404 if result.verification is None else 422
        raise SmsProblem(status, result.key, values=result.values)
    return jsonify(verified=True, phone=result.verification.phone,
                   message=t(result.key, g.identity.lang))


# --- manager profile ------------------------------------------------------------------------


@bp.put("/profile")
@widget_auth()
def put_profile():
    data = _body(ProfileInput())
    target = data["user_id"] or g.identity.amocrm_user_id
    if target != g.identity.amocrm_user_id and not g.identity.is_admin:
        raise SmsProblem(403, "auth.forbidden", values={"roles": t("role.admin",
                                                                    g.identity.lang)})
    runtime = _runtime()
    with runtime.session() as session:
        user = session.scalar(select(User).where(User.account_id == _account_id(),
                                                 User.amocrm_id == target))
        if user is None:
            raise SmsProblem(404, "sms.api.not_found", values={"what": f"user {target}"})
        user.profile_name, user.profile_phone = data["name"].strip(), data["phone"].strip()
        session.flush()
        requeued = attention.requeue_for_manager(session, _account_id(), target,
                                                 clock=runtime.clock)
        for message_id in requeued:
            enqueue_after_commit(session, "jobs.sms.send_message", message_id)
    return jsonify(user_id=target, requeued=requeued)


# --- admin: attention, channels -------------------------------------------------------------


@bp.get("/attention")
@widget_auth(ADMIN)
def get_attention():
    with _runtime().session() as session:
        waiting = session.scalars(select(SmsMessage).where(
            SmsMessage.account_id == _account_id(),
            SmsMessage.status.in_([SmsStatus.NEEDS_ATTENTION, SmsStatus.UNKNOWN]))
            .order_by(SmsMessage.id.desc()).limit(500))
        channels = session.scalars(select(SmsChannel).where(
            SmsChannel.account_id == _account_id()))
        return jsonify(messages=[message_json(m) for m in waiting], channels=[
            {"gateway": c.gateway, "status": c.status, "reason": c.reason,
             "paused_at": c.paused_at.isoformat() if c.paused_at else None} for c in channels])


@bp.post("/messages/<int:message_id>/<action>")
@widget_auth(ADMIN)
def act_onmessage_json(message_id: int, action: str):
    if action not in ("requeue", "dismiss"):
        raise SmsProblem(404, "sms.api.not_found", values={"what": action})
    runtime = _runtime()
    with runtime.session() as session:
        message = session.get(SmsMessage, message_id)
        if message is None or message.account_id != _account_id():
            raise SmsProblem(404, "sms.api.not_found", values={"what": f"sms {message_id}"})
        who = g.identity.amocrm_user_id
        done = (attention.requeue(session, message, clock=runtime.clock, by=who)
                if action == "requeue" else
                attention.dismiss(session, message, clock=runtime.clock, by=who))
        if done and message.status == SmsStatus.QUEUED:
            enqueue_after_commit(session, "jobs.sms.send_message", message.id)
        return jsonify(done=done, message=message_json(message))


@bp.post("/channels/<gateway>/resume")
@widget_auth(ADMIN)
def resume_channel(gateway: str):
    runtime = _runtime()
    with runtime.session() as session:
        resumed = channel.resume(session, _account_id(), gateway, runtime.clock.now(),
                                 by=g.identity.amocrm_user_id)
    return jsonify(resumed=resumed)
