"""What renewal creation needs to know about the amoCRM account: pipelines and lead fields.

Read once per job run (two or three GETs), kept in-process for a few minutes, so creating 10 000
renewals spends its request budget on writes. Stage and field references in the settings are
names (as an admin types them) or ids.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from amo_bridge.amocrm.client import AmoClient
from amo_bridge.amocrm.entities_account import CustomField, Pipeline
from amo_bridge.amocrm.fields import FieldCatalog, field_value, normalize_name
from amo_bridge.products import Product

log = logging.getLogger(__name__)
TTL_SECONDS = 300.0
WON, LOST = 142, 143
#: Ledger field → how its value is written (see :func:`copy_value`).
MONEY_FIELDS = ("premium", "sum_insured", "deductible")


@dataclass(frozen=True)
class Catalog:
    pipelines: tuple[Pipeline, ...]
    lead_fields: FieldCatalog

    def stage(self, pipeline_ref: str, status_ref: str) -> tuple[int | None, int | None]:
        """(pipeline id, status id) for a pipeline and stage named or numbered in settings.

        An unknown pipeline falls back to the main one; an empty or unknown stage to the
        pipeline's first working stage (not «Неразобранное», won or lost).
        """
        pipeline = _find(self.pipelines, pipeline_ref)
        if pipeline is None:
            pipeline = next((p for p in self.pipelines if p.is_main), None) or next(
                iter(self.pipelines), None)
            if pipeline is None:
                return None, None
            log.warning("renewal pipeline %r not found; using %r", pipeline_ref, pipeline.name)
        working = [s for s in sorted(pipeline.statuses, key=lambda s: (s.sort or 0, s.id))
                   if s.id not in (WON, LOST) and s.type != 1]
        status = _find(working, status_ref) if status_ref else None
        if status is None:
            status = working[0] if working else None
        return pipeline.id, status.id if status else None

    def field(self, refs: list[str] | tuple[str, ...] | str) -> CustomField | None:
        for ref in [refs] if isinstance(refs, str) else refs:
            found = self.lead_fields.find(ref)
            if found is not None:
                return found
        return None


def _find(items, ref: str):
    ref = str(ref or "").strip()
    if not ref:
        return None
    for item in items:
        if (ref.isdigit() and item.id == int(ref)) or normalize_name(item.name) == \
                normalize_name(ref):
            return item
    return None


_cache: dict[str, tuple[float, Catalog]] = {}
_lock = threading.Lock()


def catalog_for(client: AmoClient, *, fresh: bool = False) -> Catalog:
    key = f"{client.base_url}|{client.account_key}"
    with _lock:
        hit = _cache.get(key)
    if hit and not fresh and hit[0] > time.monotonic():
        return hit[1]
    catalog = Catalog(pipelines=tuple(client.pipelines()),
                      lead_fields=FieldCatalog(client.custom_fields("leads")))
    with _lock:
        _cache[key] = (time.monotonic() + TTL_SECONDS, catalog)
    return catalog


def copy_value(field: CustomField, name: str, value: Any, *, tz: str,
               product: Product | None = None) -> dict[str, Any] | None:
    """A ``custom_fields_values`` entry for one ledger value, or None when it cannot be written
    (an insurer that is not an option of the select field is left for the manager)."""
    if value in (None, "", {}):
        return None
    if name == "product" and product is not None:
        if field.type not in ("select", "radiobutton", "multiselect"):
            return field_value(field, product.name_ru)
        for label in (product.name_ru, *product.aliases, product.name_en, product.code):
            if FieldCatalog([field]).enum(field.id, label) is not None:
                return field_value(field, label)
        return None
    if name in MONEY_FIELDS:
        value = str((Decimal(int(value)) / 100).quantize(Decimal("0.01")))
    elif isinstance(value, date):
        value = value if field.type in ("date", "birthday") else value.strftime("%d.%m.%Y")
    elif field.type not in ("numeric",):
        value = str(value)
    try:
        return field_value(field, value, tz=tz)
    except ValueError:
        return None
