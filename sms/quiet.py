"""Quiet hours: messages go out only inside a window of the client's local time.

The window may cross midnight (e.g. 22:00–02:00); the default is 09:00–21:00. A message due
outside the window waits for the next opening — across midnight and DST changes alike.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def parse_clock(value: str) -> time:
    hours, _, minutes = value.strip().partition(":")
    return time(int(hours), int(minutes or 0))


def inside(moment: time, start: time, end: time) -> bool:
    if start == end:
        return True  # no quiet hours
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end  # the window crosses midnight


def next_allowed(now: datetime, zone: ZoneInfo, start: time, end: time) -> datetime:
    """``now`` if it is inside the window, else the next moment the window opens (UTC)."""
    local = now.astimezone(zone)
    if inside(local.time(), start, end):
        return now
    opening = datetime.combine(local.date(), start, tzinfo=zone)
    if opening <= local:
        opening = datetime.combine(local.date() + timedelta(days=1), start, tzinfo=zone)
    return opening.astimezone(UTC)
