"""The amoCRM client for one account: reads, batch writes, events, tokens, limits.

It takes everything it depends on — HTTP session, token store, rate limiter, write recorder,
alert port, clock — as arguments, so the same code runs against amoCRM, Kommo and the
simulator, in a web process, an RQ worker or a test.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from amo_bridge.amocrm.http import make_session
from amo_bridge.amocrm.oauth import OAuthCredentials, TokenManager, TokenStore
from amo_bridge.amocrm.ratelimit import RateLimiter, acquire
from amo_bridge.amocrm.reads import ReadsMixin
from amo_bridge.amocrm.transport import AlertPort, RetryPolicy, Transport
from amo_bridge.amocrm.writes import MemoryRecorder, WriteRecorder, WritesMixin
from amo_bridge.clock import Clock, system_clock


class AmoClient(ReadsMixin, WritesMixin):
    def __init__(
        self,
        *,
        base_url: str,
        tokens: TokenStore,
        limiter: RateLimiter,
        account_key: str,
        credentials: OAuthCredentials | None = None,
        session: requests.Session | None = None,
        recorder: WriteRecorder | None = None,
        alert: AlertPort | None = None,
        policy: RetryPolicy = RetryPolicy(),
        clock: Clock = system_clock,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``account_key`` names the account in the limiter (shared budget, cool-down, circuit).

        ``credentials`` are needed to refresh OAuth tokens; without them (long-lived token) a
        401 disconnects the account.
        """
        self.base_url = base_url.rstrip("/")
        self.session = session or make_session()
        self.clock = clock
        self.recorder: WriteRecorder = recorder or MemoryRecorder()
        self.token_manager = TokenManager(
            tokens, session=self.session, base_url=self.base_url, credentials=credentials,
            clock=clock,
            before_request=lambda: acquire(limiter, account_key, max_wait=policy.max_wait,
                                           sleep=sleep),
        )
        self.transport = Transport(base_url=self.base_url, tokens=self.token_manager,
                                   limiter=limiter, limiter_key=account_key, session=self.session,
                                   alert=alert, policy=policy, sleep=sleep)

    @property
    def limiter(self) -> RateLimiter:
        return self.transport.limiter

    @property
    def account_key(self) -> str:
        return self.transport.limiter_key
