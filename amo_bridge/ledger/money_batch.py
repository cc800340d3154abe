"""Pricing many policies at once: the money of :func:`money.price_policy`, in a few queries.

:func:`price_policies` gives exactly the lines and policy figures that calling
:func:`~amo_bridge.ledger.money.price_policy` on each policy in turn gives — the same rounding,
the same rate and salary-rule precedence (:mod:`money_rules`), the same booking rules (it calls
the same :func:`~amo_bridge.ledger.money.book_figures`) — but where ``price_policy`` spends four
queries and two flushes per policy, the batch reads the rate table and the salary rules of the
accounts once, the existing lines of all its policies in one query, writes the policies' figures
in one flush and inserts the new lines in one executemany. :func:`book_policies` is the same for
callers that only count the lines (the importer, ~1 000 policies per call).

``tests/reports/test_money_batch.py`` holds the two paths equal on random policy sets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from types import SimpleNamespace

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from amo_bridge.clock import Clock, local_today, system_clock
from amo_bridge.db_insert import reserve_ids
from amo_bridge.ledger.money import book_figures
from amo_bridge.ledger.money_figures import Figures, Ledger, compute_figures
from amo_bridge.models import ANY, Account, CommissionRate, MoneyLine, Policy, SalaryRule
from amo_bridge.products import fold

__all__ = ["KeepFigures", "RuleBook", "book_policies", "price_policies"]

#: Figures to keep as found: the same names for every policy, or a choice per policy.
KeepFigures = Iterable[str] | Callable[[Policy], Iterable[str]]

CHUNK = 900  # ids per IN (…): under SQLite's old 999-parameter limit


class RuleBook:
    """The commission rates and salary rules of some accounts, read once, looked up in memory.

    Answers exactly what :func:`money_rules.find_rate` and :func:`money_rules.find_salary_rule`
    answer from the database; each distinct question is answered once. (One case has no exact
    answer: two rates for spellings of one insurer from the same day tie, and ``find_rate``
    takes whichever row the database returns first; the book takes the older row.)
    """

    def __init__(self, session: Session, account_ids: Iterable[int]) -> None:
        wanted = sorted(set(account_ids))
        self._rates: dict[tuple[int, str], list[tuple[CommissionRate, str]]] = defaultdict(list)
        self._salary: dict[tuple[int, str], list[SalaryRule]] = defaultdict(list)
        self._rate_answers: dict[tuple, CommissionRate | None] = {}
        self._folded: dict[str, str] = {}
        self._rule_answers: dict[tuple, SalaryRule | None] = {}
        if not wanted:
            return
        for rate in session.scalars(
            select(CommissionRate)
            .where(CommissionRate.account_id.in_(wanted))
            .order_by(CommissionRate.id)
        ):
            self._rates[rate.account_id, rate.product_code].append((rate, fold(rate.insurer)))
        for rule in session.scalars(
            select(SalaryRule).where(SalaryRule.account_id.in_(wanted)).order_by(SalaryRule.id)
        ):
            self._salary[rule.account_id, rule.role].append(rule)

    def find_rate(
        self, account_id: int, *, insurer: str | None, product_code: str, on: date
    ) -> CommissionRate | None:
        """As :func:`money_rules.find_rate`: specific insurer beats ``*``, then latest date."""
        wanted = self._folded.get(insurer or "")
        if wanted is None:
            wanted = self._folded[insurer or ""] = fold(insurer or "")
        question = (account_id, product_code, wanted, on)
        if question in self._rate_answers:
            return self._rate_answers[question]
        best: tuple[int, date] | None = None
        found: CommissionRate | None = None
        for rate, folded in self._rates.get((account_id, product_code), ()):
            if rate.valid_from > on:
                continue
            if rate.insurer == ANY:
                specificity = 0
            elif wanted and folded == wanted:
                specificity = 1
            else:
                continue
            rank = (specificity, rate.valid_from)
            if best is None or rank > best:
                best, found = rank, rate
        self._rate_answers[question] = found
        return found

    def find_salary_rule(
        self,
        account_id: int,
        *,
        role: str,
        product_code: str,
        user_amocrm_id: int | None,
        on: date,
    ) -> SalaryRule | None:
        """As :func:`money_rules.find_salary_rule`: the user's own rule first, then the
        product's, then the latest valid-from."""
        if user_amocrm_id is None:
            return None
        user_key = str(user_amocrm_id)
        question = (account_id, role, product_code, user_key, on)
        if question in self._rule_answers:
            return self._rule_answers[question]
        candidates = [
            rule
            for rule in self._salary.get((account_id, role), ())
            if rule.valid_from <= on
            and rule.product_code in (product_code, ANY)
            and rule.user_key in (user_key, ANY)
        ]
        found = (
            max(
                candidates,
                key=lambda r: (r.user_key == user_key, r.product_code == product_code,
                               r.valid_from),
            )
            if candidates
            else None
        )
        self._rule_answers[question] = found
        return found


def price_policies(
    session: Session,
    policies: Iterable[Policy],
    *,
    clock: Clock = system_clock,
    keep_figures: KeepFigures = (),
) -> list[MoneyLine]:
    """Price ``policies`` as :func:`money.price_policy` would one after another; returns the
    lines written, policy by policy in the given order.

    ``keep_figures`` is what ``price_policy`` takes, for every policy alike, or a function
    giving it per policy (the importer keeps what each row states). A policy listed twice is
    priced once: the second ``price_policy`` call would find nothing changed. On a
    :class:`MoneyError` (a negative premium, an unknown figure to keep) nothing is booked and
    no policy is changed.
    """
    ids = book_policies(session, policies, clock=clock, keep_figures=keep_figures)
    written: list[MoneyLine] = []
    for start in range(0, len(ids), CHUNK):
        written += session.scalars(select(MoneyLine).where(
            MoneyLine.id.in_(ids[start:start + CHUNK])).order_by(MoneyLine.id))
    return written


def book_policies(
    session: Session,
    policies: Iterable[Policy],
    *,
    clock: Clock = system_clock,
    keep_figures: KeepFigures = (),
) -> list[int]:
    """:func:`price_policies` for callers that only count: the ids of the lines written, in
    order, without loading the lines back (the importer books ~100 000 of them)."""
    batch = list(dict.fromkeys(policies))  # by identity, first occurrence wins
    if not batch:
        return []
    if any(policy.id is None for policy in batch):
        session.flush()  # new policies need their ids before lines can point at them
    keep_of = keep_figures if callable(keep_figures) else _same(frozenset(keep_figures))
    ledgers = _ledgers(session, [policy.id for policy in batch])
    book = RuleBook(session, {policy.account_id for policy in batch})
    # All figures first: a bad policy raises before anything is changed.
    priced = []
    for policy in batch:
        ledger = ledgers.get(policy.id, _EMPTY)
        keep = frozenset(keep_of(policy))
        priced.append((policy, ledger, _figures(book, policy, ledger.booking, keep)))
    days = _Today(session, clock)
    # Lines are built as plain records and inserted without the ORM: building and flushing a
    # thousand MoneyLine objects costs more than all the rest of the batch. The policies' new
    # figures do go through the ORM's flush (one executemany; an UPDATE by hand measured no
    # faster once it tracks which rows changed).
    records: list[SimpleNamespace] = []
    for policy, ledger, figures in priced:
        records += book_figures(policy, ledger, figures, today=days.of(policy.account_id),
                                clock=clock, make=SimpleNamespace)
    if not records:
        return []
    session.flush()  # the policies' new figures, before the ids are counted out
    ids = reserve_ids(session, MoneyLine.__table__, len(records))
    session.execute(insert(MoneyLine.__table__),
                    [{**vars(record), "id": line_id} for record, line_id in zip(records, ids,
                                                                               strict=True)])
    return ids


class _Today:
    """Each account's local date, asked only when a line is written, then remembered."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session, self.clock = session, clock
        self.days: dict[int, date] = {}

    def of(self, account_id: int) -> Callable[[], date]:
        def today() -> date:
            if account_id not in self.days:
                account = self.session.get(Account, account_id)
                self.days[account_id] = local_today(
                    self.clock, account.timezone if account else "Europe/Moscow")
            return self.days[account_id]
        return today


_EMPTY = Ledger(())


def _same(keep: frozenset[str]) -> Callable[[Policy], frozenset[str]]:
    return lambda _policy: keep


def _ledgers(session: Session, policy_ids: Sequence[int]) -> dict[int, Ledger]:
    """The lines of every policy, in one query per :data:`CHUNK` policies."""
    lines: dict[int, list[MoneyLine]] = defaultdict(list)
    for start in range(0, len(policy_ids), CHUNK):
        for line in session.scalars(
            select(MoneyLine)
            .where(MoneyLine.policy_id.in_(policy_ids[start:start + CHUNK]))
            .order_by(MoneyLine.policy_id, MoneyLine.seq)
        ):
            lines[line.policy_id].append(line)
    return {policy_id: Ledger(tuple(found)) for policy_id, found in lines.items()}


def _figures(
    book: RuleBook, policy: Policy, previous: MoneyLine | None, keep: frozenset[str]
) -> Figures:
    """:func:`money_figures.compute_figures` with the rule lookups answered by ``book``."""
    return compute_figures(None, policy, previous=previous, keep_figures=keep, lookups=book)
