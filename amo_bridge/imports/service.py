"""`import_policies`: a broker's spreadsheet into the ledger, batch by batch.

A domain function (DESIGN.md floors): it writes rows and returns what it did; it never
enqueues and never talks to amoCRM. New clients are created locally and listed in the result
(``new_contact_ids``, plus an ``import_contact`` row each) for the delivery layer to push to
amoCRM later. ``after_batch`` is called after each written batch; the job and the CLI commit
there, so a long import shows progress and holds no giant transaction; a batch's policies, new
contacts and money lines commit together. A run that dies halfway is completed by running it
again: every write is keyed, so the rows already written come back as unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.accounts import products_for
from amo_bridge.clock import Clock, local_today
from amo_bridge.imports.contacts import ContactResolver
from amo_bridge.imports.headers import detect_layout, parse_map
from amo_bridge.imports.ledger_format import LedgerPlan, is_service_row, operation_of, plan_ledger
from amo_bridge.imports.people import UserDirectory
from amo_bridge.imports.pricing import price_imported
from amo_bridge.imports.problems import WARNING, ImportFileError, Issue
from amo_bridge.imports.reading import Sheet, Source, open_sheet
from amo_bridge.imports.report import ImportResult, RejectedWriter
from amo_bridge.imports.rows import Client, PolicyRow, RowParser
from amo_bridge.imports.writer import MISSING, PolicyWriter
from amo_bridge.models import Account, Deal, Policy, PolicySource

KINDS = ("ours", "foreign")
BATCH_SIZE = 1000

AfterBatch = Callable[[int, int | None], None]


@dataclass(frozen=True, kw_only=True)
class ImportOptions:
    kind: str = "ours"
    dry_run: bool = False
    sheet: str | None = None
    mapping: tuple[str, ...] = ()  # ``--map 'Header=field'``
    lang: str = "ru"
    entered_by: int | None = None  # the amoCRM user who imported
    run_id: int | None = None
    batch_size: int = BATCH_SIZE


def _is_empty(cells: tuple[Any, ...]) -> bool:
    for value in cells:
        if value is not None and (not isinstance(value, str) or value.strip()):
            return False
    return True


def import_policies(
    session: Session,
    *,
    account_id: int,
    source: Source,
    filename: str,
    options: ImportOptions,
    clock: Clock,
    after_batch: AfterBatch | None = None,
    rejected_out: TextIO | None = None,
) -> ImportResult:
    """Import ``source`` (bytes or a path) into the account's ledger; see the module doc."""
    if options.kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {options.kind!r}")
    account = session.get(Account, account_id)
    if account is None:
        raise ImportFileError("import.file.no_account")
    sheet = open_sheet(source, sheet=options.sheet)
    try:
        run = _Run(session, account, sheet, filename, options, clock, after_batch, rejected_out)
        if "operation" in run.layout.by_field():
            run.ledger = _plan_ledger(run, source, options.sheet)
        return run.run()
    finally:
        sheet.close()


def _plan_ledger(run: _Run, source: Source, sheet_name: str | None) -> LedgerPlan:
    """The finance export's first pass (see ledger_format): the file is opened once more."""
    again = open_sheet(source, sheet=sheet_name)
    try:
        body = chain(again.head[run.layout.header_row:], again.rest)
        return plan_ledger(run.parser, enumerate(body, start=run.layout.header_row + 1))
    finally:
        again.close()


class _Run:
    ledger: LedgerPlan | None = None
    _elsewhere_keys: set[str] | None = None

    def __init__(self, session: Session, account: Account, sheet: Sheet, filename: str,
                 options: ImportOptions, clock: Clock, after_batch: AfterBatch | None,
                 rejected_out: TextIO | None) -> None:
        self.session, self.account, self.sheet, self.options = session, account, sheet, options
        self.clock, self.after_batch = clock, after_batch
        self.layout = detect_layout(sheet.head, merged=sheet.merged,
                                    mapping=parse_map(options.mapping))
        present = self.layout.by_field()
        if options.kind == "ours" and "premium" not in present and "kind" not in present:
            raise ImportFileError("import.file.no_premium")
        self.result = ImportResult(
            filename=filename, kind=options.kind, dry_run=options.dry_run, format=sheet.format,
            encoding=sheet.encoding, delimiter=sheet.delimiter, sheet=sheet.name,
            header_row=self.layout.header_row, columns=self.layout.columns,
            issues=list(self.layout.issues))
        self.parser = RowParser(
            self.layout, products=products_for(session, account.id),
            users=UserDirectory.load(session, account.id), default_kind=options.kind,
            this_year=local_today(clock, account.timezone).year, epoch=sheet.epoch,
            fraction_columns=sheet.fraction_columns)
        self.rejected = RejectedWriter(rejected_out, self.layout.columns, lang=options.lang,
                                       fraction_columns=sheet.fraction_columns) \
            if rejected_out is not None else None
        self.contacts = ContactResolver(session, account.id, dry_run=options.dry_run,
                                        run_id=options.run_id)
        self.writer = PolicyWriter(session, account.id, clock=clock, dry_run=options.dry_run,
                                   entered_by=options.entered_by)
        self.number_column = present.get("number")

    def rows(self) -> Iterable[tuple[int, tuple[Any, ...]]]:
        body = chain(self.sheet.head[self.layout.header_row:], self.sheet.rest)
        return enumerate(body, start=self.layout.header_row + 1)

    def reject(self, number: int, cells: tuple[Any, ...], issues: list[Issue]) -> None:
        self.result.summary.rejected += 1
        self.result.issues.extend(issues)
        if self.rejected is not None:
            self.rejected.write(number, cells, issues)

    def run(self) -> ImportResult:
        summary = self.result.summary
        seen: dict[str, int] = {}
        batch: list[PolicyRow] = []
        blank = 0
        for number, cells in self.rows():
            if _is_empty(cells):
                blank += 1  # counted only if data follows: trailing blank rows are not news
                continue
            summary.empty += blank
            blank = 0
            summary.read += 1
            parsed = self._row(number, cells, seen)
            if parsed is None:
                continue
            seen[parsed.key] = number
            batch.append(parsed)
            if len(batch) >= self.options.batch_size:
                self._flush(batch, number)
                batch = []
        self._flush(batch, None)
        summary.contacts_matched = len(self.contacts.stats.matched)
        summary.contacts_created = len(self.contacts.stats.created)
        if not self.options.dry_run:
            self.result.new_contact_ids = list(self.contacts.stats.created)
        self.result.issues.sort(key=lambda i: (i.row or 0, len(i.column or ""), i.column or ""))
        return self.result

    def _row(self, number: int, cells: tuple[Any, ...], seen: dict[str, int]
             ) -> PolicyRow | None:
        """The row to write, or None when it is skipped or rejected (both counted here)."""
        summary = self.result.summary
        if is_service_row(cells):
            summary.skipped += 1
            return None
        if self.ledger is not None:
            key = self.parser.quick_key(cells)
            if key is not None and key in self._elsewhere():
                # A line of a policy amoCRM owns (a deal's): nothing to check or change here.
                summary.unchanged += 1
                return None
            decision = self.ledger.decide(number, operation_of(self.parser, cells), key)
            if decision == "skip":
                summary.skipped += 1
                return None
            if decision == "cancel_only" and key is not None:
                _, on, refund = self.ledger.cancelled[key]
                return PolicyRow(row=number, key=key, values={}, client=Client(name=""),
                                 cancellation=(on, refund), key_given=True, cancel_only=True,
                                 cells=cells)
        parsed, issues = self.parser.parse(number, cells)
        if parsed is not None and parsed.key in seen:
            column = self.number_column
            issues.append(Issue("import.row.duplicate", {"row": seen[parsed.key]}, row=number,
                                column=column.letter if column else None,
                                header=column.header if column else None))
            parsed = None
        if parsed is None:
            self.reject(number, cells, issues)
            return None
        if self.ledger is not None and parsed.key in self.ledger.cancelled:
            _, on, refund = self.ledger.cancelled[parsed.key]
            parsed.cancellation = (on, refund)
        self.result.issues.extend(parsed.issues)
        return parsed

    def _flush(self, batch: list[PolicyRow], number: int | None) -> None:
        summary = self.result.summary
        if batch:
            planned = self.writer.plan(batch)
            contacts = [p.stored.contact_id if p.stored is not None else None for p in planned]
            need = [i for i, p in enumerate(planned) if p.needs_contact]
            self.contacts.stats.matched.update(
                p.stored.contact_id for p in planned
                if not p.needs_contact and p.stored is not None and p.stored.contact_id)
            resolved = self.contacts.resolve([batch[i].client for i in need])
            for i, contact_id in zip(need, resolved, strict=True):
                contacts[i] = contact_id
            written = self.writer.apply(planned, contacts, self._deals(batch))
            for row, outcome in zip(batch, written.outcomes, strict=True):
                if outcome == MISSING:
                    self.reject(row.row, row.cells, [Issue("import.row.no_such_policy",
                                                           row=row.row)])
                else:
                    setattr(summary, outcome, getattr(summary, outcome) + 1)
            self.result.issues.extend(written.warnings)
            if written.to_price or written.new_lines:
                summary.money_lines += price_imported(self.session, written.to_price,
                                                      clock=self.clock,
                                                      new_lines=written.new_lines)
        if self.after_batch is not None:
            self.after_batch(number or summary.read + summary.empty + self.layout.header_row,
                             self.sheet.total_rows)

    def _elsewhere(self) -> set[str]:
        """Keys of the policies that came from deals or the widget (ledger files only)."""
        if self._elsewhere_keys is None:
            self._elsewhere_keys = set(self.session.scalars(select(Policy.external_key).where(
                Policy.account_id == self.account.id, Policy.source != PolicySource.IMPORT)))
        return self._elsewhere_keys

    def _deals(self, batch: list[PolicyRow]) -> list[int | None]:
        wanted = {row.deal_amocrm_id for row in batch if row.deal_amocrm_id}
        if not wanted:
            return [None] * len(batch)
        found = dict(self.session.execute(select(Deal.amocrm_id, Deal.id).where(
            Deal.account_id == self.account.id, Deal.amocrm_id.in_(wanted))).all())
        column = self.layout.by_field().get("deal_id")
        for row in batch:
            if row.deal_amocrm_id and row.deal_amocrm_id not in found:
                self.result.issues.append(Issue(
                    "import.value.deal_unknown", {"value": row.deal_amocrm_id}, row=row.row,
                    column=column.letter if column else None,
                    header=column.header if column else None, severity=WARNING))
        return [found.get(row.deal_amocrm_id) if row.deal_amocrm_id else None for row in batch]
