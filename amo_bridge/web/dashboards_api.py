"""What the widget needs to start (who am I, products, users, insurers, may I export) and the
SMS delivery dashboard. Plan vs fact and retention come from the reports API.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, jsonify
from sqlalchemy import select, union

from amo_bridge.accounts import products_for
from amo_bridge.clock import local_today
from amo_bridge.exports.service import Requester
from amo_bridge.i18n import t
from amo_bridge.models import Account, CommissionRate, Policy, SmsMessage, User
from amo_bridge.web.auth import widget_auth
from amo_bridge.web.money_common import identity, iso, lang, load_query, runtime, sees_everyone
from amo_bridge.web.money_schemas import PeriodQuery
from amo_bridge.web.widget_schemas import ContextQuery

bp = Blueprint("dashboards_api", __name__)
#: SMS states grouped the way a person reads a delivery chart.
SMS_GROUPS = {"delivered": "delivered", "sent": "sent", "sending": "waiting",
              "queued": "waiting", "unknown": "waiting", "failed": "failed",
              "rejected": "rejected", "needs_attention": "attention"}
MAX_INSURERS = 300


@bp.get("/context")
@widget_auth()
def context():
    """The caller, the account, and the dictionaries every panel uses."""
    data = load_query(ContextQuery())
    who = identity()
    shown_lang = data["lang"] or lang()
    with runtime().db.read_session() as session:
        account = session.get(Account, who.account_id)
        users = session.scalars(select(User).where(User.account_id == who.account_id)
                                .order_by(User.name, User.amocrm_id)).all()
        me = next((u for u in users if u.amocrm_id == who.amocrm_user_id), None)
        insurers = session.scalars(union(
            select(Policy.insurer).where(Policy.account_id == who.account_id,
                                         Policy.insurer.is_not(None)),
            select(CommissionRate.insurer).where(CommissionRate.account_id == who.account_id),
        ).limit(MAX_INSURERS)).all()
        products = [{"code": p.code, "name": p.name(shown_lang)}
                    for p in products_for(session, who.account_id)]
        today = local_today(runtime().clock, account.timezone)
    may_export = Requester(channel="widget", amocrm_user_id=who.amocrm_user_id,
                           roles=who.roles).may_export
    return jsonify(
        user={"id": who.amocrm_user_id, "name": me.name if me else "",
              "roles": sorted(who.roles), "admin": who.is_admin,
              "finance": "finance" in who.roles,
              # What a client sees in SMS (amoCRM's API gives no user phone): the bridge's own.
              "profile": {"name": me.profile_name if me else None,
                          "phone": me.profile_phone if me else None}},
        account={"id": account.amocrm_id, "subdomain": account.subdomain, "name": account.name,
                 "timezone": account.timezone},
        lang=shown_lang, today=today.isoformat(), products=products,
        users=[{"id": u.amocrm_id, "name": u.name or f"#{u.amocrm_id}", "active": u.is_active,
                "admin": u.is_admin, "finance": u.is_finance} for u in users],
        insurers=sorted({i.strip() for i in insurers if i and i.strip()}),
        export={"allowed": may_export,
                "reason": None if may_export else t("export.forbidden", shown_lang)},
    )


@bp.get("/dashboards/sms")
@widget_auth()
def sms_dashboard():
    """SMS in the period by state, by day and by rule, with segments and cost; a manager sees
    the messages that carry their own name."""
    data = load_query(PeriodQuery())
    who = identity()
    period = data["parsed_period"]
    with runtime().db.read_session() as session:
        zone = ZoneInfo(session.get(Account, who.account_id).timezone)
        start = datetime.combine(period.start, time(0), tzinfo=zone)
        end = datetime.combine(period.end, time(0), tzinfo=zone)
        statement = select(SmsMessage.status, SmsMessage.rule, SmsMessage.created_at,
                           SmsMessage.segments, SmsMessage.cost).where(
            SmsMessage.account_id == who.account_id, SmsMessage.created_at >= start,
            SmsMessage.created_at < end)
        manager = data.get("manager") if sees_everyone(who) else who.amocrm_user_id
        if manager is not None:
            statement = statement.where(SmsMessage.manager_amocrm_id == manager)
        rows = session.execute(statement).all()
    by_status: Counter[str] = Counter()
    by_rule: dict[str, Counter[str]] = defaultdict(Counter)
    by_day: dict[str, Counter[str]] = defaultdict(Counter)
    segments = cost = 0
    for status, rule, created_at, parts, price in rows:
        group = SMS_GROUPS.get(status, "waiting")
        by_status[group] += 1
        by_rule[rule or "manual"][group] += 1
        by_day[created_at.astimezone(zone).date().isoformat()][group] += 1
        segments += parts or 0
        cost += price or 0
    days = []
    day = period.start
    while day < period.end and len(days) < 400:
        days.append({"day": day.isoformat(), **{g: by_day[day.isoformat()][g]
                                                for g in _groups()}})
        day += timedelta(days=1)
    delivered, finished = by_status["delivered"], sum(
        by_status[g] for g in ("delivered", "failed", "rejected"))
    return jsonify(
        period={"from": iso(period.start), "to": iso(period.last_day)}, groups=_groups(),
        totals={"messages": len(rows), "segments": segments, "cost_kopecks": cost,
                **{g: by_status[g] for g in _groups()},
                "delivery_rate_pct": (round(100 * delivered / finished, 1) if finished
                                      else None)},
        by_day=days, by_rule=[{"rule": r, **{g: c[g] for g in _groups()}}
                              for r, c in sorted(by_rule.items())],
    )


def _groups() -> list[str]:
    return ["delivered", "sent", "waiting", "failed", "rejected", "attention"]
