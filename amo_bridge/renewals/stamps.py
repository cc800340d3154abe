"""Work rows carry the business clock's time in ``updated_at`` (the sweeper and the in-flight
check compare it with ``clock.now()``).

The models' ``onupdate`` stamps the wall clock whenever a flush does not *change*
``updated_at`` — and assigning the value a row already has is no change — so every write of a
work row goes through :func:`touch`, which marks the column modified whatever its value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm.attributes import flag_modified


def touch(row: Any, at: datetime) -> None:
    row.updated_at = at
    flag_modified(row, "updated_at")
