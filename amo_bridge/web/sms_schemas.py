"""Strict input schemas of the widget's SMS API, and how a message is shown to it."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from amo_bridge.models import SmsMessage


class TemplateInput(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    kind = fields.String(load_default="service", validate=validate.OneOf(["service",
                                                                         "marketing"]))
    name = fields.String(load_default="", validate=validate.Length(max=255))
    is_active = fields.Boolean(load_default=True)


class PreviewInput(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class SendInput(Schema):
    template_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    deal_id = fields.Integer(load_default=None)
    contact_id = fields.Integer(load_default=None)


class ProfileInput(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    phone = fields.String(required=True, validate=validate.Length(min=5, max=32))
    user_id = fields.Integer(load_default=None)


class ConsentInput(Schema):
    marketing_consent = fields.Boolean(load_default=None)
    opted_out = fields.Boolean(load_default=None)


class VerifyStartInput(Schema):
    contact_id = fields.Integer(required=True)
    phone = fields.String(load_default=None, validate=validate.Length(max=32))


class VerifyConfirmInput(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=12))


def message_json(m: SmsMessage) -> dict[str, Any]:
    text = "" if m.rule == "verification" else m.text  # a code never leaves the bridge
    return {"id": m.id, "rule": m.rule, "template": m.template_code, "status": m.status,
            "reason": m.reason, "phone": m.phone, "text": text, "segments": m.segments,
            "encoding": m.encoding, "cost_kopecks": m.cost, "gateway": m.gateway,
            "created_at": m.created_at.isoformat() if m.created_at else None,
            "not_before": m.not_before.isoformat() if m.not_before else None,
            "sent_at": m.sent_at.isoformat() if m.sent_at else None,
            "delivered_at": m.delivered_at.isoformat() if m.delivered_at else None}
