"""Demo step: where to open the widget in a browser, against the demo's data.

Assumes the bridge runs (``step_start_stack``: ``ctx.bridge``, ``ctx.app``) and, ideally, that
the mirror step left won deals in ``ctx.facts["lead_ids"]``. The harness page plays amoCRM
around the built widget; it needs the integration's client secret in the settings
(``AMOCRM_CLIENT_SECRET`` — for the demo, the simulator's, from its default seed) to sign the
tokens amoCRM would sign.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from amo_bridge.models import Contact, Deal, User


def step_widget(ctx: Any) -> None:
    if ctx.bridge is None or ctx.app is None:
        ctx.say("The bridge is not running, so there is no widget to open.")
        return
    settings = ctx.app.extensions["amo_bridge.settings"]
    base = f"{ctx.bridge.url}/widget/harness"
    runtime = ctx.app.extensions["amo_bridge"]
    lead_ids = list(ctx.facts.get("lead_ids") or [])
    with runtime.db.read_session() as session:
        users = session.scalars(select(User).order_by(User.amocrm_id)).all()
        deal = (session.scalar(select(Deal).where(Deal.amocrm_id == lead_ids[0]))
                if lead_ids else session.scalar(select(Deal).order_by(Deal.id)))
        contact = session.get(Contact, deal.contact_id) if deal and deal.contact_id else None
    admin = next((u for u in users if u.is_admin), users[0] if users else None)
    manager = next((u for u in users if not u.is_admin), admin)
    ctx.say("The amoCRM widget runs in a local page that plays amoCRM around it (jQuery,")
    ctx.say("RequireJS, the widget host object, $authorizedAjax with a signed token):")
    if deal is not None and manager is not None:
        ctx.say(f"  deal card ({deal.name}), as {manager.name}:")
        ctx.say(f"    {base}?area=lcard&user={manager.amocrm_id}&lead={deal.amocrm_id}")
    if contact is not None and contact.amocrm_id and manager is not None:
        ctx.say(f"  contact card ({contact.name}):")
        ctx.say(f"    {base}?area=ccard&user={manager.amocrm_id}&contact={contact.amocrm_id}")
    if admin is not None:
        ctx.say(f"  dashboards and settings, as {admin.name} (admin):")
        ctx.say(f"    {base}?area=advanced_settings&user={admin.amocrm_id}")
    ctx.say("Switch user, card and language in the page's top bar; SMS the demo sends (the")
    ctx.say("phone confirmation code too) appear on the right, as the client's phone.")
    if not settings.amocrm_client_secret:
        ctx.say("Note: AMOCRM_CLIENT_SECRET is not set, so the page cannot sign tokens; set it")
        ctx.say("to the simulator's client secret (amo_bridge/simulator/default_seed.toml).")
    if not ctx.facts.get("serve"):
        ctx.say("These pages live as long as the demo: run `amo-bridge demo --serve` to keep")
        ctx.say("the bridge and the simulator running and click through.")
    ctx.facts["widget_harness"] = base
