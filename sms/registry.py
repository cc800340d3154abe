"""Choose the gateways from settings: ``SMS_GATEWAY`` and an optional ``SMS_FALLBACK_GATEWAY``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sms.gateway import Gateway

GATEWAYS = ("console", "fake", "smsru", "smsc", "smsaero")


@dataclass(frozen=True, slots=True)
class GatewaySet:
    primary: Gateway
    fallback: Gateway | None = None

    def by_name(self, name: str | None) -> Gateway | None:
        for gateway in (self.primary, self.fallback):
            if gateway is not None and gateway.name == name:
                return gateway
        return None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(g.name for g in (self.primary, self.fallback) if g is not None)


def build_gateway(name: str, settings: Any) -> Gateway:
    timeout = settings.sms_timeout_seconds
    sender = settings.sms_sender
    if name == "console":
        from sms.console import ConsoleGateway

        return ConsoleGateway()
    if name == "fake":
        from sms.fake import FakeGateway

        return FakeGateway()
    if name == "smsru":
        from sms.smsru import SmsRuGateway

        return SmsRuGateway(api_id=settings.smsru_api_id or "", sender=sender, timeout=timeout)
    if name == "smsc":
        from sms.smsc import SmscGateway

        return SmscGateway(login=settings.smsc_login or "", password=settings.smsc_password or "",
                           sender=sender, timeout=timeout)
    if name == "smsaero":
        from sms.smsaero import SmsAeroGateway

        return SmsAeroGateway(email=settings.smsaero_email or "",
                              api_key=settings.smsaero_api_key or "",
                              sender=sender or "SMS Aero", timeout=timeout)
    raise ValueError(f"unknown SMS gateway {name!r}")


def build_gateways(settings: Any) -> GatewaySet:
    primary = build_gateway(settings.sms_gateway, settings)
    fallback_name = settings.sms_fallback_gateway
    fallback = build_gateway(fallback_name, settings) if fallback_name else None
    return GatewaySet(primary=primary, fallback=fallback)
