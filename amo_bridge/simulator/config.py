"""Configuration of the simulator: limits, webhook delivery, fault rules.

Everything here can also be changed at run time through ``/_sim/...`` or the
:class:`~amo_bridge.simulator.state.Simulator` object; the config only gives defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DeliveryMode = Literal["background", "manual"]
DropMode = Literal["drop", "502"]


@dataclass
class LimitSettings:
    """amoCRM's request limits (AMOCRM.md "Limits").

    ``per_second``: more than this many requests in any sliding 1-second window → 429.
    ``block_after`` 429s within ``block_window`` seconds → the account is blocked (403 with an
    HTML body on every call) until reset through ``/_sim``. amoCRM publishes no numbers for the
    block; 20 violations in 60 s is our documented choice. Both windows use the wall clock
    (``time.monotonic``), never the business clock, so a frozen clock cannot starve or flood it.
    """

    enabled: bool = True
    per_second: int = 7
    block_after: int = 20
    block_window: float = 60.0
    # AMOCRM.md does not say whether token calls count; they hit the same account host, so by
    # default they do (a client that survives this survives the other reading too).
    count_oauth: bool = True


@dataclass
class FaultRule:
    """One fault-injection rule, matched against ``"METHOD /api/v4/path"`` (fnmatch glob).

    - ``latency``: seconds slept (wall clock) before handling;
    - ``error_rate``: probability (seeded random) of answering ``error_status`` *without*
      applying the request;
    - ``drop_rate`` / ``drop_count``: for writes (non-GET) that succeed: apply the write, then
      lose the answer. ``drop_mode="drop"`` closes the TCP connection without a response (the
      client sees a connection error); ``"502"`` answers 502 with an empty body, as a proxy in
      front of amoCRM would. ``drop_count`` drops the next N matching writes, then stops.
    """

    match: str = "*"
    latency: float = 0.0
    error_rate: float = 0.0
    error_status: int = 500
    drop_rate: float = 0.0
    drop_count: int = 0
    drop_mode: DropMode = "drop"


@dataclass
class SimulatorConfig:
    """Defaults for a simulator instance.

    ``webhook_delivery``: ``"background"`` starts a dispatcher thread when the server runs
    (:func:`serve`, :func:`run_in_thread`); ``"manual"`` delivers only on ``/_sim/webhooks/flush``
    (deterministic tests).
    """

    limits: LimitSettings = field(default_factory=LimitSettings)
    webhook_delivery: DeliveryMode = "background"
    webhook_timeout: float = 2.0  # amoCRM waits at most 2 s (AMOCRM.md "Webhooks")
    dispatcher_interval: float = 0.05
    # AMOCRM.md: tasks arrive as ``task[...]`` in the docs, ``tasks[...]`` in some code.
    webhook_task_key: Literal["task", "tasks"] = "task"
    # AMOCRM.md: task dates documented as "YYYY-MM-DD HH:MM:SS", unix seen elsewhere.
    webhook_task_dates: Literal["datetime", "unix"] = "datetime"
    random_seed: int = 1
    public_url: str = "http://127.0.0.1"
