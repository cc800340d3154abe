"""Renewal jobs (thin: ids in, one domain call, follow-up work enqueued after commit) and the
renewals' reactions to the mirror's changes (registered on import: ``REACTION_MODULES``).

- ``scan_all`` (daily, ``jobs/schedule.py``) → ``scan_account``: reserve what is due, settle
  drift, then ``create_renewals`` and ``follow_renewals`` after the commit;
- ``create_renewals(account_id)``: reservations → deals and tasks in amoCRM;
  ``create_for(renewal_id)`` is the sweeper's entry for a stuck row;
- ``follow_renewals(account_id)``: end date moved / policy cancelled → task moved / closed;
- ``bind_client(deal_id)``: a won deal's client → its seller (seed 000);
- ``create_followups(account_id)``: lost deals' re-contact tasks and the «холодный» tag.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from amo_bridge.accounts import get_section
from amo_bridge.amocrm.client import AmoClient
from amo_bridge.connections import client_for_account
from amo_bridge.ledger.changes import DealLost, DealWon, PolicyRecorded, StageMoved, reacts_to
from amo_bridge.models import (
    Account,
    AccountStatus,
    AuditLog,
    Deal,
    FollowupStatus,
    Policy,
    Renewal,
    RenewalFollowup,
    RenewalStatus,
)
from amo_bridge.renewals import create, follow, followups, outcome
from amo_bridge.renewals.config import load_config
from amo_bridge.renewals.reserve import reserve_due
from jobs.queue import JobCall, enqueue_after_commit
from jobs.runtime import Runtime, get_runtime
from jobs.sweeper import Sweepable, register

log = logging.getLogger(__name__)

register(Sweepable("renewals", Renewal, (RenewalStatus.RESERVED, RenewalStatus.CREATING),
                   "jobs.renewals.create_for"))
register(Sweepable("renewal_followups", RenewalFollowup,
                   (FollowupStatus.PENDING, FollowupStatus.CREATING, FollowupStatus.CREATED),
                   "jobs.renewals.followups_for"))


def _client(runtime: Runtime, account_id: int) -> AmoClient | None:
    with runtime.db.read_session() as session:
        account = session.get(Account, account_id)
    if account is None or account.status != AccountStatus.ACTIVE:
        return None  # disconnected or blocked: the rows wait; the sweeper retries later
    return client_for_account(runtime.db, account, runtime.settings, redis=runtime.redis,
                              clock=runtime.clock)


# --- the scan -------------------------------------------------------------------------------


def scan_all() -> int:
    """Periodic (daily): one scan per active account."""
    runtime = get_runtime()
    with runtime.session() as session:
        ids = list(session.scalars(select(Account.id).where(
            Account.status == AccountStatus.ACTIVE)))
        for account_id in ids:
            enqueue_after_commit(session, "jobs.renewals.scan_account", account_id)
    return len(ids)


def scan_account(account_id: int) -> dict[str, int]:
    """Reserve every due renewal of one account, then create them (also "on demand")."""
    runtime = get_runtime()
    with runtime.session() as session:
        account = session.get(Account, account_id)
        if account is None:
            return {}
        reserved = reserve_due(session, account, clock=runtime.clock)
        drift = follow.plan_follow(session, account, clock=runtime.clock)
        enqueue_after_commit(session, "jobs.renewals.create_renewals", account_id)
        if drift.remote:
            enqueue_after_commit(session, "jobs.renewals.follow_renewals", account_id)
    log.info("renewal scan of account %s: %d due, %d reserved", account_id, reserved.due,
             len(reserved.renewal_ids))
    return {"due": reserved.due, "reserved": len(reserved.renewal_ids),
            "cancelled": drift.cancelled, "moved": drift.moved, "dropped": drift.dropped}


def create_renewals(account_id: int, stale_id: int | None = None) -> dict[str, int]:
    runtime = get_runtime()
    client = _client(runtime, account_id)
    if client is None:
        return {"waiting": 1}
    done = create.create_renewals(runtime.db, client, account_id, clock=runtime.clock,
                                  stale=[stale_id] if stale_id else ())
    return vars(done)


def create_for(renewal_id: int) -> dict[str, int]:
    """The sweeper's entry: this row looked stuck, so it is no longer taken to be in flight."""
    runtime = get_runtime()
    with runtime.db.read_session() as session:
        row = session.get(Renewal, renewal_id)
        account_id = row.account_id if row is not None else None
    return create_renewals(account_id, renewal_id) if account_id is not None else {}


# --- following the policy --------------------------------------------------------------------


def follow_renewals(account_id: int) -> dict[str, int]:
    runtime = get_runtime()
    with runtime.session() as session:
        account = session.get(Account, account_id)
        if account is None:
            return {}
        planned = follow.plan_follow(session, account, clock=runtime.clock)
    settled = 0
    if planned.remote:
        client = _client(runtime, account_id)
        if client is None:
            return {"waiting": len(planned.remote)}
        settled = follow.apply_remote(runtime.db, client, account, planned.remote,
                                      clock=runtime.clock)
    return {"cancelled": planned.cancelled + sum(a.kind == "cancel" for a in planned.remote),
            "moved": planned.moved + sum(a.kind == "move" for a in planned.remote),
            "dropped": planned.dropped, "remote": settled}


def follow_all() -> int:
    """Periodic: catch drift whatever changed the policy (money API, import, stage move)."""
    runtime = get_runtime()
    with runtime.session() as session:
        ids = list(session.scalars(select(Renewal.account_id).where(
            Renewal.status.in_((RenewalStatus.RESERVED, RenewalStatus.CREATED))).distinct()))
        for account_id in ids:
            enqueue_after_commit(session, "jobs.renewals.follow_renewals", account_id)
    return len(ids)


# --- won and lost deals ---------------------------------------------------------------------


def bind_client(deal_id: int) -> str:
    """Seed 000: after a sale the client is bound to the agent — in amoCRM, its responsible."""
    runtime = get_runtime()
    with runtime.db.read_session() as session:
        deal = session.get(Deal, deal_id)
        binding = outcome.binding_for(session, deal) if deal is not None else None
    if binding is None:
        return "nothing to do"
    client = _client(runtime, deal.account_id)
    if client is None:
        return "waiting"
    result = client.update_contacts([{"id": binding.contact_amocrm_id,
                                      "responsible_user_id": binding.seller_amocrm_id}])
    result.raise_failure()
    with runtime.session() as session:
        session.add(AuditLog(account_id=deal.account_id, at=runtime.clock.now(),
                             action="renewals.client_bound",
                             target=f"contact:{binding.contact_amocrm_id}",
                             details={"seller": binding.seller_amocrm_id, "deal": deal.amocrm_id,
                                      "errors": {k: [e.detail for e in v]
                                                 for k, v in result.errors.items()}}))
    return "bound" if not result.errors else "refused"


def create_followups(account_id: int, stale_id: int | None = None) -> dict[str, int]:
    runtime = get_runtime()
    client = _client(runtime, account_id)
    if client is None:
        return {"waiting": 1}
    with runtime.db.read_session() as session:
        tag = load_config(session, account_id).cold_tag
    return followups.create_followups(runtime.db, client, account_id, clock=runtime.clock,
                                      cold_tag=tag, stale=[stale_id] if stale_id else ())


def followups_for(followup_id: int) -> dict[str, int]:
    runtime = get_runtime()
    with runtime.db.read_session() as session:
        row = session.get(RenewalFollowup, followup_id)
        account_id = row.account_id if row is not None else None
    return create_followups(account_id, followup_id) if account_id is not None else {}


# --- reactions to the mirror ------------------------------------------------------------------


@reacts_to(DealWon, name="renewals.deal_won")
def on_deal_won(session: Any, change: DealWon) -> list[JobCall]:
    deal = session.get(Deal, change.deal_id)
    if deal is None:
        return []
    outcome.record_won(session, deal, at=change.won_at)
    if load_config(session, change.account_id).bind_client_to_seller:
        return [JobCall("jobs.renewals.bind_client", (deal.id,))]
    return []


@reacts_to(DealLost, name="renewals.deal_lost")
def on_deal_lost(session: Any, change: DealLost) -> list[JobCall]:
    deal = session.get(Deal, change.deal_id)
    account = session.get(Account, change.account_id)
    if deal is None or account is None:
        return []
    outcome.record_lost(session, deal, at=change.lost_at, reason=change.loss_reason)
    created = followups.reserve_followup(
        session, account, deal, config=load_config(session, account.id),
        lost_at=change.lost_at, reason=change.loss_reason or deal.loss_reason,
        now=get_runtime().clock.now())
    return [JobCall("jobs.renewals.create_followups", (account.id,))] if created else []


@reacts_to(PolicyRecorded, name="renewals.policy_recorded")
def on_policy_recorded(session: Any, change: PolicyRecorded) -> list[JobCall]:
    policy = session.get(Policy, change.policy_id)
    if policy is None:
        return []
    outcome.link_new_policy(session, policy)
    if not change.created and {"ends_on", "cancelled_on"} & set(change.changed_fields):
        return [JobCall("jobs.renewals.follow_renewals", (change.account_id,))]
    return []


@reacts_to(StageMoved, name="renewals.cancel_stage")
def on_stage_moved(session: Any, change: StageMoved) -> list[JobCall]:
    """A move to a "cancelled" stage cancels the deal's policies (the money engine's reaction):
    their pending renewals follow. The periodic follow catches it too if this runs first."""
    stages = get_section(session, change.account_id, "cancellation").get("status_ids") or ()
    if change.to_status_id is not None and str(change.to_status_id) in {str(s) for s in stages}:
        return [JobCall("jobs.renewals.follow_renewals", (change.account_id,))]
    return []
