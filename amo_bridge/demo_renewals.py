"""Demo step of renewals: as the bridge's clock moves, renewal deals and tasks appear in amoCRM.

Assumes the mirror step ran (won deals with policy lines, a lost deal) and that ``ctx.clock`` is
the bridge's :class:`~amo_bridge.clock.FrozenClock`. Works from whatever date earlier steps left
the clock at: adds a foreign policy ending in 60 days, gives foreign policies their own assignee
rule, shows the preview, runs the daily scan today, then moves the clock to the next days on
which renewals fall due and runs it there. Best placed right after the mirror step, before steps
that jump the clock by months (policies that ended more than a week before a scan are not
renewed any more).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from amo_bridge.accounts import products_for
from amo_bridge.clock import local_today
from amo_bridge.models import Account, Contact, Renewal, RenewalFollowup, User
from amo_bridge.renewals import foreign
from amo_bridge.renewals.reserve import plan
from amo_bridge.renewals.rules import set_rule

ORLOVA = 8011003
MSK = "Europe/Moscow"  # the simulator's demo account


def _names(session) -> dict[int, str]:
    return dict(session.execute(select(User.amocrm_id, User.name)).all())


def _add_foreign_policy(ctx) -> None:
    runtime = ctx.stack.runtime
    ends = local_today(ctx.clock, MSK) + timedelta(days=60)
    with runtime.session() as session:
        client = session.scalar(select(Contact).where(Contact.name.like("Иванова%")))
        if client is None:
            return
        foreign.add_foreign(session, ctx.stack.account_id, client, {
            "product": "ОСАГО", "insurer": "РЕСО-Гарантия", "ends_on": ends,
            "number": "ХХХ 0456789123", "premium": 1_150_000}, entered_by=ORLOVA)
        set_rule(session, ctx.stack.account_id, kind="foreign", product="*", strategy="fixed",
                 fixed=ORLOVA)
    ctx.say("Екатерина Орлова learned that Анна Иванова also has ОСАГО at «РЕСО-Гарантия»")
    ctx.say(f"ending {ends:%d.%m.%Y} (in 60 days) and entered it as a foreign policy («чужой»);")
    ctx.say("an admin sent foreign renewals to her (ours go to their seller, the default).")


def _preview(ctx) -> list[date]:
    runtime = ctx.stack.runtime
    with runtime.db.read_session() as session:
        account = session.get(Account, ctx.stack.account_id)
        planned = plan(session, account, clock=ctx.clock, count=6, horizon=365)
        names = _names(session)
        products = products_for(session, account.id)
    ctx.say("Preview — who gets the next renewals (nothing is written):")
    for item in planned:
        p = item.policy
        kind = "наш" if p.kind == "ours" else "чужой"
        ctx.say(f"  • {products.get(p.product_code).name_ru} ({kind}) ending "
                f"{p.ends_on:%d.%m.%Y}: due {p.due_on:%d.%m.%Y} → "
                f"{names.get(item.assignee_amocrm_id)}")
    return [item.policy.due_on for item in planned]


def _move_to(ctx, day: date) -> None:
    today = local_today(ctx.clock, MSK)
    if day > today:
        ctx.clock.advance(days=(day - today).days)
    ctx.say(f"The bridge's clock moves to {local_today(ctx.clock, MSK):%d.%m.%Y}; "
            "the daily scan runs:")


def _scan_and_show(ctx, seen: set[int]) -> None:
    from jobs.renewals import scan_account

    result = scan_account(ctx.stack.account_id)
    ctx.stack.wait(timeout=60)
    runtime = ctx.stack.runtime
    with runtime.db.read_session() as session:
        rows = [r for r in session.scalars(select(Renewal).order_by(Renewal.id))
                if r.id not in seen]
        names = _names(session)
    if not rows:
        ctx.say(f"  {result.get('due', 0)} due — nothing to create.")
        return
    client = ctx.stack.client()
    leads = {lead.id: lead for lead in client.leads(ids=[r.amocrm_lead_id for r in rows
                                                         if r.amocrm_lead_id], with_=())}
    tasks = {t.entity_id: t for t in client.tasks(entity_type="leads", entity_ids=list(leads))}
    for row in rows:
        seen.add(row.id)
        lead, task = leads.get(row.amocrm_lead_id), tasks.get(row.amocrm_lead_id)
        if lead is None:
            ctx.say(f"  • renewal {row.id}: {row.status} {row.last_error or ''}")
            continue
        ctx.say(f"  • deal «{lead.name}» in «Пролонгации» → "
                f"{names.get(lead.responsible_user_id)}; tags: "
                f"{', '.join(t.name for t in lead.tags)}")
        if task is not None:
            due = datetime.fromtimestamp(task.complete_till or 0, ZoneInfo(MSK)).date()
            ctx.say(f"    task «{task.text}», due {due:%d.%m.%Y}")


def step_renewals(ctx) -> None:
    _add_foreign_policy(ctx)
    upcoming = _preview(ctx)
    seen: set[int] = set()
    ctx.say(f"Today ({local_today(ctx.clock, MSK):%d.%m.%Y}) the daily scan runs:")
    _scan_and_show(ctx, seen)
    for due in sorted({d for d in upcoming if d > local_today(ctx.clock, MSK)})[:3]:
        _move_to(ctx, due)
        _scan_and_show(ctx, seen)
    ctx.say(f"{len(seen)} renewal deal(s) with their tasks, each created exactly once (45 days "
            "ahead, or at the first scan after that). Another scan the same day:")
    _scan_and_show(ctx, seen)
    _show_followups(ctx)


def _show_followups(ctx) -> None:
    with ctx.stack.runtime.db.read_session() as session:
        rows = session.scalars(select(RenewalFollowup).order_by(RenewalFollowup.id)).all()
    for row in rows:
        ctx.say(f"The lost deal (reason «{row.reason}») got a re-contact task due "
                f"{row.due_on:%d.%m.%Y} ({row.months} months, seed 001) and its client the tag "
                "«холодный».")
