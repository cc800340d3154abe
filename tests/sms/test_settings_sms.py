"""SMS settings: strict parsing, credentials named when missing, gateways built from them."""

from __future__ import annotations

import pytest

from amo_bridge.settings import SettingsError, describe, load_settings
from sms.registry import build_gateways


@pytest.mark.parametrize(("env", "variable"), [
    ({"SMS_GATEWAY": "twilio"}, "SMS_GATEWAY"),
    ({"SMS_GATEWAY": "smsru"}, "SMSRU_API_ID"),
    ({"SMS_GATEWAY": "smsc", "SMSC_LOGIN": "x"}, "SMSC_PASSWORD"),
    ({"SMS_FALLBACK_GATEWAY": "smsaero", "SMSAERO_EMAIL": "a@b.ru"}, "SMSAERO_API_KEY"),
    ({"SMS_GATEWAY": "fake", "SMS_FALLBACK_GATEWAY": "fake"}, "SMS_FALLBACK_GATEWAY"),
    ({"SMS_TIMEOUT_SECONDS": "0"}, "SMS_TIMEOUT_SECONDS"),
])
def test_bad_sms_settings_name_the_variable(env, variable):
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    assert info.value.variable == variable


def test_gateways_are_built_from_settings_and_secrets_masked():
    settings = load_settings({"SMS_GATEWAY": "smsc", "SMSC_LOGIN": "broker",
                              "SMSC_PASSWORD": "pw-123", "SMS_FALLBACK_GATEWAY": "smsru",
                              "SMSRU_API_ID": "api-456", "SMS_SENDER": "Broker"})
    gateways = build_gateways(settings)
    assert gateways.names == ("smsc", "smsru")
    assert gateways.primary.sender == "Broker" and gateways.primary.base_url == \
        "https://smsc.ru"
    shown = " ".join(describe(settings).values())
    assert "pw-123" not in shown and "api-456" not in shown
    assert build_gateways(load_settings({})).names == ("console",)
