"""Admin settings of the SMS engine: the reminder schedule and the gateways' state.

``GET/PUT /widget/api/sms/settings`` reads and edits the account's ``reminders`` section (days
before the end per product, foreign-policy reminders) and the editable keys of ``sms_rules``;
``GET /widget/api/sms/gateway`` shows the configured gateways and their channel state.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from amo_bridge.accounts import get_section, products_for, set_section
from amo_bridge.models import Account
from amo_bridge.web.auth import widget_auth
from sms.channel import get_channel

bp = Blueprint("sms_settings_api", __name__, url_prefix="/widget/api/sms")

#: ``sms_rules`` keys an admin may edit here (the rest are deployment-level or internal).
EDITABLE_RULES = ("company_name", "company_phone", "reminder_grace_days",
                  "max_trigger_age_hours", "first_contact_statuses", "task_completed_templates")


class RemindersSchema(Schema):
    class Meta:
        unknown = RAISE

    days_before = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=32)),
        values=fields.List(fields.Integer(validate=validate.Range(min=0, max=365)),
                           validate=validate.Length(max=10)),
    )
    foreign_policies = fields.Boolean()


class SmsRulesSchema(Schema):
    class Meta:
        unknown = RAISE

    company_name = fields.String(validate=validate.Length(max=120))
    company_phone = fields.String(validate=validate.Length(max=32))
    reminder_grace_days = fields.Integer(validate=validate.Range(min=0, max=30))
    max_trigger_age_hours = fields.Integer(validate=validate.Range(min=1, max=24 * 30))
    first_contact_statuses = fields.List(fields.List(fields.Integer(), validate=validate.Length(
        equal=2)))
    task_completed_templates = fields.Dict(keys=fields.String(), values=fields.String())


class SmsSettingsSchema(Schema):
    class Meta:
        unknown = RAISE

    reminders = fields.Nested(RemindersSchema)
    sms_rules = fields.Nested(SmsRulesSchema)


def _runtime():
    return current_app.extensions["amo_bridge"]


def _settings_view(session, account_id: int) -> dict[str, Any]:
    rules = get_section(session, account_id, "sms_rules")
    return {
        "reminders": get_section(session, account_id, "reminders"),
        "sms_rules": {key: rules.get(key) for key in EDITABLE_RULES},
    }


@bp.get("/settings")
@widget_auth("admin")
def get_settings():
    with _runtime().db.read_session() as session:
        return jsonify(_settings_view(session, g.identity.account_id))


@bp.put("/settings")
@widget_auth("admin")
def put_settings():
    account_id = g.identity.account_id
    with _runtime().session() as session:
        known = {p.code for p in products_for(session, account_id)}
        data = SmsSettingsSchema().load(request.get_json(silent=False) or {})
        unknown = sorted(set(data.get("reminders", {}).get("days_before", {})) - known)
        if unknown:
            raise ValidationError({"reminders": {"days_before": [
                f"unknown product code(s): {', '.join(unknown)}"]}})
        for section, changes in data.items():
            current = get_section(session, account_id, section)
            if section == "reminders" and "days_before" in changes:
                # The whole schedule is sent: a product left out has no reminders.
                current["days_before"] = {code: sorted(set(days), reverse=True)
                                          for code, days in changes.pop("days_before").items()
                                          if days}
            current.update(changes)
            set_section(session, account_id, section, current, by=g.identity.amocrm_user_id)
        return jsonify(_settings_view(session, account_id))


@bp.get("/gateway")
@widget_auth("admin")
def get_gateway():
    """The configured gateways and whether each is paused for this account.

    The balance is shown when the adapter can report it (``balance()``); none of the provider
    adapters does yet, so it is ``null`` — the channel state is what tells "no money".
    """
    settings = current_app.extensions["amo_bridge.settings"]
    account_id = g.identity.account_id
    names = [settings.sms_gateway, settings.sms_fallback_gateway]
    with _runtime().db.read_session() as session:
        account = session.get(Account, account_id)
        items = []
        for name in names:
            if not name:
                items.append(None)
                continue
            channel = get_channel(session, account.id, name)
            items.append({
                "name": name,
                "status": channel.status if channel else "active",
                "reason": channel.reason if channel else None,
                "balance_kopecks": None,
            })
    return jsonify(primary=items[0], fallback=items[1])
