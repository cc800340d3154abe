"""The ledger: SQLAlchemy 2.0 typed models for the data model in DESIGN.md."""

from amo_bridge.models._base import PolicyKind, Role
from amo_bridge.models.account import (
    Account,
    AccountSetting,
    AccountStatus,
    AuditLog,
    OAuthToken,
    SyncState,
    User,
)
from amo_bridge.models.crm import (
    Contact,
    ContactKind,
    ContactPhone,
    Deal,
    OutboundWrite,
    StageChange,
    Task,
)
from amo_bridge.models.messaging import InboxEvent, InboxStatus, SmsMessage, SmsStatus
from amo_bridge.models.money import ExportKind, ExportRecord, ExportStatus, LineKind, MoneyLine
from amo_bridge.models.policy import (
    ANY,
    AssigneeRule,
    AssigneeStrategy,
    CommissionRate,
    Plan,
    Policy,
    PolicySource,
    Renewal,
    RenewalStatus,
    SalaryBasis,
    SalaryRule,
)

__all__ = [
    "ANY", "Account", "AccountSetting", "AccountStatus", "AssigneeRule", "AssigneeStrategy",
    "AuditLog", "CommissionRate", "Contact", "ContactKind", "ContactPhone", "Deal", "InboxEvent",
    "InboxStatus", "OAuthToken", "OutboundWrite", "Plan", "Policy", "PolicyKind", "PolicySource",
    "Renewal", "RenewalStatus", "Role", "SalaryBasis", "SalaryRule", "SmsMessage", "SmsStatus",
    "StageChange", "SyncState", "Task", "User",
]
__all__ += ["ExportKind", "ExportRecord", "ExportStatus", "LineKind", "MoneyLine"]
from amo_bridge.models.sms import (  # noqa: E402 - issue 7 (SMS)
    SmsCallback,
    SmsChannel,
    SmsNote,
    SmsSuppression,
    SmsTemplate,
    SmsVerification,
)

__all__ += ["SmsCallback", "SmsChannel", "SmsNote", "SmsSuppression", "SmsTemplate",
            "SmsVerification"]
from amo_bridge.models.imports import (  # noqa: E402 - issue 6 (imports)
    ContactPushStatus,
    ImportContact,
    ImportRun,
    ImportStatus,
)

__all__ += ["ContactPushStatus", "ImportContact", "ImportRun", "ImportStatus"]
from amo_bridge.models.renewals import FollowupStatus, RenewalFollowup  # noqa: E402 - issue 5

__all__ += ["FollowupStatus", "RenewalFollowup"]
