"""Who is who: managers by name among the mirrored amoCRM users.

A manager cell may hold a full name in either order («Смирнова Анна», «Анна Смирнова»), a
surname with initials («Смирнова А.», «А. В. Смирнова»), an e-mail or an amoCRM user id. A name
that fits several users, or none, is not guessed: the policy imports without that person and
the report says why (renewal assignee rules still route its renewal).
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.models import User
from amo_bridge.products import fold


def _tokens(name: str) -> list[str]:
    return [fold(part) for part in name.replace(".", ". ").split() if fold(part)]


@lru_cache(maxsize=8192)  # a client's name is compared on every row that names them
def name_key(name: str) -> str:
    """A person's name as compared: folded words, order ignored."""
    return " ".join(sorted(_tokens(name)))


class UserDirectory:
    """The account's amoCRM users, for matching the «Менеджер» and «Оформил» columns."""

    def __init__(self, users: list[tuple[int, str, str | None]]) -> None:
        self._ids = {amocrm_id for amocrm_id, _, _ in users}
        self._emails = {email.lower(): amocrm_id for amocrm_id, _, email in users if email}
        self._by_key: dict[str, set[int]] = {}
        self._people: list[tuple[int, list[str]]] = []
        for amocrm_id, name, _ in users:
            if name:
                self._by_key.setdefault(name_key(name), set()).add(amocrm_id)
                self._people.append((amocrm_id, _tokens(name)))
        self._memo: dict[str, int | None] = {}

    @classmethod
    def load(cls, session: Session, account_id: int) -> UserDirectory:
        rows = session.execute(
            select(User.amocrm_id, User.name, User.email).where(User.account_id == account_id)
        ).all()
        profile = session.execute(
            select(User.amocrm_id, User.profile_name, User.email)
            .where(User.account_id == account_id, User.profile_name.is_not(None))
        ).all()
        return cls([tuple(r) for r in rows] + [tuple(r) for r in profile])

    def match(self, raw: str) -> int | None:
        if raw not in self._memo:
            self._memo[raw] = self._match(raw)
        return self._memo[raw]

    def _match(self, raw: str) -> int | None:
        value = raw.strip().removeprefix("#")  # the ledger export writes «#123» for ex-users
        if value.isdigit():
            return int(value) if int(value) in self._ids else None
        if "@" in value:
            return self._emails.get(value.lower())
        found = self._by_key.get(name_key(value), set())
        if len(found) == 1:
            return next(iter(found))
        if found:
            return None
        # «Смирнова А.», «А.В. Смирнова»: full words must all be there, initials must start
        # the user's other words.
        words = _tokens(value)
        full = [w for w in words if len(w) > 1]
        initials = [w for w in words if len(w) == 1]
        if not full or not initials:
            return None
        candidates = set()
        for amocrm_id, tokens in self._people:
            rest = list(tokens)
            if any(w not in rest for w in full):
                continue
            for w in full:
                rest.remove(w)
            if all(any(t.startswith(i) for t in rest) for i in initials):
                candidates.add(amocrm_id)
        return next(iter(candidates)) if len(candidates) == 1 else None
