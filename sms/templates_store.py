"""SMS templates of an account: the defaults from ``config/defaults.toml`` and its own edits.

An account's saved template (table ``sms_template``) overrides the default of the same code;
deleting it restores the default. Every save goes through the sandbox's validation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from amo_bridge.models import SmsTemplate
from amo_bridge.models.sms import TemplateKind
from amo_bridge.products import load_defaults
from amo_bridge.templates import TemplateProblem, validate

_CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


@dataclass(frozen=True, slots=True)
class TemplateDef:
    code: str
    name: str
    kind: str
    body: str
    is_default: bool
    is_active: bool = True
    version: int = 0


def default_templates(lang: str) -> dict[str, TemplateDef]:
    out = {}
    for code, item in (load_defaults().get("sms_templates") or {}).items():
        body = item.get(lang) or item.get("ru") or ""
        out[code] = TemplateDef(code=code, name=str(item.get("name", code)),
                                kind=str(item.get("kind", TemplateKind.SERVICE)), body=body,
                                is_default=True)
    return out


def _own(session: Session, account_id: int) -> dict[str, SmsTemplate]:
    rows = session.scalars(select(SmsTemplate).where(SmsTemplate.account_id == account_id))
    return {row.code: row for row in rows}


def list_templates(session: Session, account_id: int, lang: str) -> list[TemplateDef]:
    merged = default_templates(lang)
    for code, row in _own(session, account_id).items():
        merged[code] = TemplateDef(code=code, name=row.name, kind=row.kind, body=row.body,
                                   is_default=False, is_active=row.is_active,
                                   version=row.version)
    return sorted(merged.values(), key=lambda item: item.code)


def get_template(session: Session, account_id: int, code: str, lang: str) -> TemplateDef | None:
    row = session.scalar(select(SmsTemplate).where(SmsTemplate.account_id == account_id,
                                                   SmsTemplate.code == code))
    if row is not None:
        return TemplateDef(code=code, name=row.name, kind=row.kind, body=row.body,
                           is_default=False, is_active=row.is_active, version=row.version)
    return default_templates(lang).get(code)


def save_template(session: Session, account_id: int, code: str, *, body: str, kind: str,
                  name: str = "", is_active: bool = True, by: int | None = None) -> SmsTemplate:
    """Validate and store; raises :class:`TemplateProblem` (shown to the admin) or ValueError."""
    if not _CODE.match(code):
        raise ValueError(f"template code must be lowercase latin, digits and _: {code!r}")
    if kind not in {k.value for k in TemplateKind}:
        raise ValueError(f"kind must be service or marketing, got {kind!r}")
    validate(body)
    row = session.scalar(select(SmsTemplate).where(SmsTemplate.account_id == account_id,
                                                   SmsTemplate.code == code))
    if row is None:
        row = SmsTemplate(account_id=account_id, code=code, body=body, kind=kind,
                          name=name or code, is_active=is_active, updated_by=by)
        session.add(row)
    else:
        row.body, row.kind, row.is_active, row.updated_by = body, kind, is_active, by
        row.name = name or row.name
        row.version += 1
    session.flush()
    return row


def reset_template(session: Session, account_id: int, code: str) -> bool:
    row = session.scalar(select(SmsTemplate).where(SmsTemplate.account_id == account_id,
                                                   SmsTemplate.code == code))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


__all__ = ["TemplateDef", "TemplateProblem", "default_templates", "get_template",
           "list_templates", "reset_template", "save_template"]
