"""Every route of the widget API, described once: what it does, who may call it, what it takes.

A test walks the app's URL map and fails when a ``/widget/api/`` route is missing here or an
entry here names no route — a new endpoint is described in the same change that adds it.
Bodies and queries are the endpoints' own marshmallow schemas, so the description cannot drift
from what the code accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from amo_bridge.web import imports_api
from amo_bridge.web import money_schemas as ms
from amo_bridge.web import renewals_schemas as rs
from amo_bridge.web import sms_schemas as ss
from amo_bridge.web import sms_settings_api as sss
from amo_bridge.web import widget_responses as out
from amo_bridge.web import widget_schemas as ws

ADMIN, FINANCE = "admin", "finance"


@dataclass(frozen=True, slots=True)
class Op:
    method: str
    rule: str  # the Flask rule, e.g. /widget/api/deals/<int:lead_id>/policies
    summary: str
    tag: str
    roles: tuple[str, ...] = ()  # () = any user of a connected account
    query: Any = None
    body: Any = None
    response: Any = None
    status: int = 200
    auth: str = "token"  # token (X-Auth-Token), link (signed ?token=), none
    produces: str = "application/json"
    form: bool = False  # multipart/form-data body (file uploads)


P = "/widget/api"
DEAL = f"{P}/deals/<int:lead_id>"
ROUTES: tuple[Op, ...] = (
    Op("GET", f"{P}/openapi.json", "This description", "meta", auth="none"),
    Op("GET", f"{P}/context", "Who is calling, the account, products, users, insurers, "
       "and whether the caller may export", "meta", query=ws.ContextQuery, response=out.Context),
    # --- the deal card's policy panel (issue 9) ---
    Op("GET", f"{DEAL}/policies", "The deal's policy lines, totals, price check", "deal panel",
       query=ms.LangQuery, response=out.PolicyPanel),
    Op("POST", f"{DEAL}/policies", "Add a policy line", "deal panel", body=ws.PolicyLineSchema,
       response=out.PolicyPanel, status=201),
    Op("PUT", f"{DEAL}/policies/<int:policy_id>", "Replace a policy line", "deal panel",
       body=ws.PolicyLineSchema, response=out.PolicyPanel),
    Op("DELETE", f"{DEAL}/policies/<int:policy_id>", "Remove a policy line (a booked one is "
       "reversed, never erased)", "deal panel", response=out.PolicyPanel),
    Op("POST", f"{DEAL}/policies/preview", "Income, commission and shares of a line being "
       "typed; nothing is saved", "deal panel", body=ws.PolicyPreviewSchema,
       response=out.LinePreview),
    Op("POST", f"{DEAL}/price-sync", "Send the total premium to amoCRM as the deal's price "
       "again", "deal panel", status=202),
    # --- contact card (issue 8's client history) ---
    Op("GET", f"{P}/clients/<int:contact_id>/history", "The client's policies (ours and "
       "foreign), what ends next, other deals", "contact panel", query=ms.LangQuery),
    Op("GET", f"{P}/contacts/<int:contact_id>/summary", "The client's phones, the confirmed "
       "one, consent and opt-out", "contact panel", query=ms.LangQuery,
       response=out.ContactSummary),
    # --- reports and dashboards ---
    Op("GET", f"{P}/reports/plan-fact", "Plan vs fact per manager and month", "reports",
       query=ms.PeriodQuery),
    Op("GET", f"{P}/reports/payroll", "Salary shares of sellers and issuers", "reports",
       query=ms.PayrollQuery),
    Op("GET", f"{P}/reports/retention", "Renewal rate vs target per product", "reports",
       query=ms.PeriodQuery),
    Op("GET", f"{P}/dashboards/sms", "SMS by delivery state, day and rule", "reports",
       query=ms.PeriodQuery, response=out.SmsDashboard),
    # --- exports ---
    Op("POST", f"{P}/exports", "Request an Excel export (managers: 403, and the attempt is "
       "audited)", "exports", body=ms.ExportRequest, status=202),
    Op("GET", f"{P}/exports", "The export audit", "exports", roles=(ADMIN,),
       query=ms.AuditQuery),
    Op("GET", f"{P}/exports/<int:export_id>", "An export's state and its short-lived link",
       "exports", query=ms.LangQuery),
    Op("GET", f"{P}/exports/<int:export_id>/download", "The xlsx file (the signed link is the "
       "credential)", "exports", auth="link",
       produces="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    # --- money settings (issue 8) ---
    Op("GET", f"{P}/plans", "Plans of a period", "settings", query=ms.PeriodQuery),
    Op("PUT", f"{P}/plans", "Set a manager's plan for a month", "settings", roles=(ADMIN,),
       body=ms.PlanInput),
    Op("DELETE", f"{P}/plans/<int:plan_id>", "Delete a plan", "settings", roles=(ADMIN,),
       status=204),
    Op("GET", f"{P}/commission-rates", "Commission rates", "settings", roles=(ADMIN, FINANCE),
       query=ms.LangQuery),
    Op("POST", f"{P}/commission-rates", "Set a rate from a date", "settings",
       roles=(ADMIN, FINANCE), body=ms.RateInput, status=201),
    Op("DELETE", f"{P}/commission-rates/<int:rate_id>", "Delete a rate", "settings",
       roles=(ADMIN, FINANCE), status=204),
    Op("GET", f"{P}/salary-rules", "Salary rules", "settings", roles=(ADMIN, FINANCE),
       query=ms.LangQuery),
    Op("POST", f"{P}/salary-rules", "Set a salary rule from a date", "settings",
       roles=(ADMIN, FINANCE), body=ms.SalaryRuleInput, status=201),
    Op("DELETE", f"{P}/salary-rules/<int:rule_id>", "Delete a salary rule", "settings",
       roles=(ADMIN, FINANCE), status=204),
    Op("GET", f"{P}/roles", "Users with their roles", "settings", roles=(ADMIN,),
       query=ms.LangQuery),
    Op("PUT", f"{P}/roles/<int:user_id>", "Grant or revoke finance", "settings", roles=(ADMIN,),
       body=ms.RoleInput),
    Op("GET", f"{P}/export-rights", "Users whose amoCRM rights still allow exporting",
       "settings", roles=(ADMIN,), query=ms.LangQuery),
    Op("POST", f"{P}/policies/<int:policy_id>/cancellation", "Cancel a policy with a refund",
       "deal panel", body=ms.CancellationInput),
    Op("DELETE", f"{P}/policies/<int:policy_id>/cancellation", "Undo a cancellation",
       "deal panel", roles=(ADMIN, FINANCE)),
    Op("GET", f"{P}/policies/<int:policy_id>/lines", "Everything booked for a policy (sale, "
       "refunds, reversals, corrections)", "deal panel", query=ms.LangQuery),
    Op("GET", f"{P}/retention-targets", "Retention targets per product, %", "settings",
       query=ms.LangQuery),
    Op("PUT", f"{P}/retention-targets", "Replace the retention targets", "settings",
       roles=(ADMIN,), body=ms.RetentionTargetsInput),
    # --- settings sections of issue 9 ---
    Op("GET", f"{P}/settings/field-mapping", "amoCRM fields → ledger fields; seller and "
       "issuer rules", "settings", roles=(ADMIN,), query=ms.LangQuery,
       response=out.SettingsSection),
    Op("PUT", f"{P}/settings/field-mapping", "Replace the field mapping", "settings",
       roles=(ADMIN,), body=ws.FieldMappingSchema, response=out.SettingsSection),
    Op("GET", f"{P}/settings/cancellation", "Stages that cancel policies; date and refund "
       "fields", "settings", roles=(ADMIN,), query=ms.LangQuery, response=out.SettingsSection),
    Op("PUT", f"{P}/settings/cancellation", "Replace the cancellation settings", "settings",
       roles=(ADMIN,), body=ws.CancellationSchema, response=out.SettingsSection),
    Op("GET", f"{P}/amocrm/lead-fields", "amoCRM's lead fields and pipelines (read live)",
       "settings", roles=(ADMIN,), query=ms.LangQuery, response=out.LeadFields),
    Op("GET", f"{P}/inbox", "Stored webhooks of a status (rejected by default)", "settings",
       roles=(ADMIN,), query=ws.InboxQuery, response=out.InboxList),
    Op("POST", f"{P}/inbox/<int:event_id>/retry", "Process a rejected webhook again",
       "settings", roles=(ADMIN,), response=out.InboxItem, status=202),
    # --- SMS (issue 7) ---
    Op("GET", f"{P}/sms/templates", "SMS templates and the variables they may use", "sms"),
    Op("PUT", f"{P}/sms/templates/<code>", "Save a template", "sms", roles=(ADMIN,),
       body=ss.TemplateInput),
    Op("DELETE", f"{P}/sms/templates/<code>", "Reset a template to its default", "sms",
       roles=(ADMIN,)),
    Op("POST", f"{P}/sms/templates/preview", "Render a template with sample values; segments",
       "sms", body=ss.PreviewInput),
    Op("GET", f"{P}/sms/messages", "SMS history of a deal or contact (deal_id, contact_id: "
       "amoCRM ids)", "sms"),
    Op("POST", f"{P}/sms/messages", "Send an SMS from a template", "sms",
       body=ss.SendInput, status=201),
    Op("POST", f"{P}/sms/messages/<int:message_id>/<action>", "requeue or dismiss a message "
       "that needs attention", "sms", roles=(ADMIN,)),
    Op("PUT", f"{P}/sms/contacts/<int:contact_id>/consent", "Record a client's marketing "
       "consent and/or SMS opt-out", "contact panel", body=ss.ConsentInput),
    Op("PUT", f"{P}/sms/profile", "The name and phone a client sees in SMS", "sms",
       body=ss.ProfileInput),
    Op("GET", f"{P}/sms/settings", "The reminder schedule and the editable SMS rules", "sms",
       roles=(ADMIN,)),
    Op("PUT", f"{P}/sms/settings", "Change the reminder schedule or SMS rules", "sms",
       roles=(ADMIN,), body=sss.SmsSettingsSchema),
    Op("GET", f"{P}/sms/gateway", "The configured SMS gateways and their channel state", "sms",
       roles=(ADMIN,)),
    Op("GET", f"{P}/sms/attention", "Messages that need an admin; gateway channels", "sms",
       roles=(ADMIN,)),
    Op("POST", f"{P}/sms/channels/<gateway>/resume", "Resume a paused gateway", "sms",
       roles=(ADMIN,)),
    Op("POST", f"{P}/sms/verifications", "Send a phone confirmation code", "contact panel",
       body=ss.VerifyStartInput, status=201),
    Op("POST", f"{P}/sms/verifications/<int:verification_id>/confirm", "Check the code",
       "contact panel", body=ss.VerifyConfirmInput),
    # --- renewals (issue 5) ---
    Op("GET", f"{P}/renewals/settings", "Renewal schedule, texts and follow-ups", "renewals",
       roles=(ADMIN,)),
    Op("PUT", f"{P}/renewals/settings", "Change the renewal settings (keys given replace)",
       "renewals", roles=(ADMIN,), body=rs.SettingsInput),
    Op("GET", f"{P}/renewals/rules", "Assignee rules, ours and foreign", "renewals",
       roles=(ADMIN,)),
    Op("PUT", f"{P}/renewals/rules", "Create or replace the rule of a kind and product",
       "renewals", roles=(ADMIN,), body=rs.RuleInput),
    Op("DELETE", f"{P}/renewals/rules/<int:rule_id>", "Delete an assignee rule", "renewals",
       roles=(ADMIN,), status=204),
    Op("GET", f"{P}/renewals/users", "Users with their away dates and backups", "renewals",
       roles=(ADMIN,)),
    Op("PUT", f"{P}/renewals/users/<int:amocrm_id>/availability", "Set away-until and backup",
       "renewals", roles=(ADMIN,), body=rs.AvailabilityInput),
    Op("GET", f"{P}/renewals/preview", "Who would get the next N renewals (nothing written)",
       "renewals", roles=(ADMIN,), query=rs.PreviewQuery),
    Op("POST", f"{P}/renewals/scan", "Run the renewal scan now", "renewals", roles=(ADMIN,),
       status=202),
    Op("POST", f"{P}/renewals/retry", "Retry renewals amoCRM refused", "renewals",
       roles=(ADMIN,)),
    Op("GET", f"{P}/renewals", "Renewals (a manager sees their own)", "renewals",
       query=rs.ListQuery),
    Op("GET", f"{P}/renewals/contacts/<int:contact_id>/policies", "A client's policies "
       "(foreign by default)", "contact panel", query=rs.PoliciesQuery),
    Op("POST", f"{P}/renewals/contacts/<int:contact_id>/policies", "Add a foreign policy",
       "contact panel", body=rs.ForeignPolicyInput, status=201),
    Op("PATCH", f"{P}/renewals/policies/<int:policy_id>", "Change a foreign policy (its "
       "author or an admin)", "contact panel", body=rs.ForeignPolicyPatch),
    Op("DELETE", f"{P}/renewals/policies/<int:policy_id>", "Remove a foreign policy entered by "
       "mistake", "contact panel", status=204),
    # --- imports (issue 6) ---
    Op("POST", f"{P}/imports", "Upload a file of policies (xlsx/csv)", "imports",
       roles=(ADMIN,), body=imports_api.UploadForm, form=True, status=202),
    Op("GET", f"{P}/imports", "Recent imports", "imports", roles=(ADMIN,),
       query=imports_api.ListQuery),
    Op("GET", f"{P}/imports/<int:run_id>", "An import's progress and result", "imports",
       roles=(ADMIN,), query=imports_api.LangQuery),
    Op("GET", f"{P}/imports/<int:run_id>/rejected.csv", "The rejected rows with reasons",
       "imports", roles=(ADMIN,), query=imports_api.LangQuery, produces="text/csv"),
)
