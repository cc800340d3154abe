"""Writing a batch of rows into the ledger: one SELECT, one bulk INSERT, one bulk UPDATE.

Each row is looked up by ``Policy.external_key``; a row equal to what is stored is
*unchanged*, one that differs in a value it gives is *updated* (only those values are written —
an empty cell never erases), a new key is *imported*. A policy the ledger got from a deal or the
widget (same insurer and number) is never overwritten by a spreadsheet: amoCRM is its source of
truth, and the row counts as unchanged (with a warning, unless the row named the policy by its
ledger key — a re-imported export).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from amo_bridge.clock import Clock
from amo_bridge.imports import pricing
from amo_bridge.imports.bulk import insert_rows, reserve_ids
from amo_bridge.imports.keys import insurer_slug, number_slug, numbered_key
from amo_bridge.imports.pricing import ToPrice
from amo_bridge.imports.problems import WARNING, Issue
from amo_bridge.imports.rows import PolicyRow
from amo_bridge.models import Policy, PolicySource

IMPORTED, UPDATED, UNCHANGED, MISSING = "imported", "updated", "unchanged", "missing"
CHUNK = 500
_COMPARED = ("kind", "product_code", "insurer", "number", "premium", "commission_pct", "income",
             "seller_share", "issuer_share", "starts_on", "ends_on", "sold_on", "sum_insured",
             "deductible", "terms", "seller_amocrm_id", "issuer_amocrm_id")
_DEFAULTS: dict[str, Any] = {name: None for name in _COMPARED}
_DEFAULTS.update(premium=0, income=0, seller_share=0, issuer_share=0)
_SPELLINGS = {"insurer": insurer_slug, "number": number_slug}
_IMPORT = PolicySource.IMPORT.value


@dataclass(slots=True)
class Written:
    """What :meth:`PolicyWriter.apply` did to a batch, and the money it leaves to book."""

    outcomes: list[str]  # per row: imported, updated, unchanged or missing
    warnings: list[Issue]
    #: Stored policies to price (changed ones; new ones with a cancellation to book).
    to_price: list[ToPrice] = field(default_factory=list)
    #: The sale lines of the new policies, priced before their INSERT (pricing.price_new).
    new_lines: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Planned:
    row: PolicyRow
    stored: Any  # the stored policy's columns, or None
    protected: bool = False  # from a deal or the widget: never overwritten

    @property
    def needs_contact(self) -> bool:
        """Resolve the client unless the row changes nothing about who it is: a known policy
        with a contact, and a row that names its client without phone or amoCRM id."""
        if self.protected or self.row.cancel_only:
            return False
        if self.stored is None or self.stored.contact_id is None:
            return True
        return bool(self.row.client.phones or self.row.client.amocrm_id)


class PolicyWriter:
    def __init__(self, session: Session, account_id: int, *, clock: Clock,
                 dry_run: bool = False, entered_by: int | None = None) -> None:
        self.session = session
        self.account_id = account_id
        self.clock = clock
        self.dry_run = dry_run
        self.entered_by = entered_by
        self._elsewhere: dict[str, tuple[int, str]] | None = None

    def _lookup(self, keys: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        columns = [getattr(Policy, name) for name in _COMPARED]
        for start in range(0, len(keys), CHUNK):
            rows = self.session.execute(
                select(Policy.id, Policy.external_key, Policy.source, Policy.insured_object,
                       Policy.contact_id, Policy.deal_id, Policy.cancelled_on, Policy.refund,
                       *columns)
                .where(Policy.account_id == self.account_id,
                       Policy.external_key.in_(keys[start:start + CHUNK]))).all()
            found.update((row.external_key, row) for row in rows)
        return found

    def _from_elsewhere(self) -> dict[str, tuple[int, str]]:
        """Numbered policies that came from deals or the widget, by their import key."""
        if self._elsewhere is None:
            rows = self.session.execute(
                select(Policy.id, Policy.insurer, Policy.number, Policy.source).where(
                    Policy.account_id == self.account_id, Policy.number.is_not(None),
                    Policy.source != PolicySource.IMPORT))
            self._elsewhere = {numbered_key(insurer, number): (pid, source)
                               for pid, insurer, number, source in rows}
        return self._elsewhere

    def plan(self, rows: Sequence[PolicyRow]) -> list[Planned]:
        existing = self._lookup([r.key for r in rows])
        planned = []
        for row in rows:
            stored = existing.get(row.key)
            protected = stored is not None and stored.source != PolicySource.IMPORT
            if stored is None and not row.key_given and "number" in row.values:
                protected = row.key in self._from_elsewhere()
            planned.append(Planned(row, stored, protected))
        return planned

    def apply(self, planned: Sequence[Planned], contacts: Sequence[int | None],
              deals: Sequence[int | None]) -> Written:
        """Write the batch: outcomes, warnings about protected policies, money to book."""
        outcomes: list[str] = []
        inserts: list[tuple[PolicyRow, dict[str, Any]]] = []
        updates: list[tuple[PolicyRow, Any, dict[str, Any], bool]] = []
        warnings: list[Issue] = []
        for item, contact_id, deal_id in zip(planned, contacts, deals, strict=True):
            row, stored = item.row, item.stored
            if item.protected:
                outcomes.append(UNCHANGED)
                if not row.key_given:
                    warnings.append(Issue("import.row.from_deal", row=row.row,
                                          severity=WARNING))
                continue
            if stored is None:
                if row.cancel_only:
                    outcomes.append(MISSING)
                    continue
                outcomes.append(IMPORTED)
                inserts.append((row, _links(contact_id, deal_id)))
                continue
            changes, cancels = _changes(row, stored, _links(contact_id, deal_id))
            if changes or cancels:
                outcomes.append(UPDATED)
                updates.append((row, stored, changes, cancels))
            else:
                outcomes.append(UNCHANGED)
        written = Written(outcomes, warnings)
        if self.dry_run:
            return written
        # Pricing happens in the same transaction as these writes (service._flush), so an
        # unchanged line was priced when it was written: it needs nothing now.
        self._insert(inserts, written)
        written.to_price += self._update(updates)
        return written

    def _insert(self, inserts: list[tuple[PolicyRow, dict[str, Any]]], written: Written
                ) -> None:
        if not inserts:
            return
        ids = reserve_ids(self.session, Policy.__table__, len(inserts))
        payload = []
        ours = []
        for policy_id, (row, links) in zip(ids, inserts, strict=True):
            values = {**_DEFAULTS, "insured_object": {}, "contact_id": None, "deal_id": None,
                      **row.values, **links, "id": policy_id, "account_id": self.account_id,
                      "external_key": row.key, "source": _IMPORT,
                      "entered_by_amocrm_id": self.entered_by}
            payload.append(values)
            if values["kind"] == "ours":
                ours.append((values, row.keep))
            if row.cancellation is not None:
                written.to_price.append(ToPrice(policy_id, row.keep, row.cancellation, False))
        # Priced before the INSERT: the figures go in with the policy, no UPDATE after it.
        written.new_lines = pricing.price_new(self.session, ours, clock=self.clock)
        insert_rows(self.session, Policy.__table__, payload)  # one executemany

    def _update(self, updates: list[tuple[PolicyRow, Any, dict[str, Any], bool]]
                ) -> list[ToPrice]:
        statements = [{"id": stored.id, **changes} for _, stored, changes, _ in updates
                      if changes]
        if statements:
            self.session.execute(update(Policy), statements)
        # Priced whatever the kind: a line that stopped being ours gets its booking reversed.
        return [ToPrice(stored.id, row.keep, row.cancellation if cancels else None,
                        not row.cancel_only)
                for row, stored, _, cancels in updates]


def _links(contact_id: int | None, deal_id: int | None) -> dict[str, Any]:
    links: dict[str, Any] = {}
    if contact_id is not None and contact_id > 0:  # dry runs use negative stand-ins
        links["contact_id"] = contact_id
    if deal_id:
        links["deal_id"] = deal_id
    return links


def _changes(row: PolicyRow, stored: Any, links: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The columns to write, and whether the row cancels the policy differently."""
    changes: dict[str, Any] = {}
    for name, value in row.values.items():
        if name in _SPELLINGS:
            # «СПАО "Ингосстрах"» for «Ингосстрах», «XXX 12345678» for «ХХХ 0012345678»: the
            # same identity spelled another way is not a change (no churn between files).
            if getattr(stored, name) is None or \
                    _SPELLINGS[name](getattr(stored, name)) != _SPELLINGS[name](value):
                changes[name] = value
        elif name == "insured_object":
            merged = {**(stored.insured_object or {}), **value}
            if merged != (stored.insured_object or {}):
                changes[name] = merged
        elif getattr(stored, name) != value:
            changes[name] = value
    for name, value in links.items():
        if getattr(stored, name) != value:
            changes[name] = value
    cancels = row.cancellation is not None and \
        (stored.cancelled_on, stored.refund or 0) != row.cancellation
    return changes, cancels
