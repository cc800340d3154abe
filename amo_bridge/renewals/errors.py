"""The renewals domain's refusal: an HTTP-ish status and an i18n message key with its values."""

from __future__ import annotations


class RenewalsError(ValueError):
    """A request the domain refuses; ``status`` and ``key`` become a problem+json answer."""

    def __init__(self, status: int, key: str, **values: object) -> None:
        super().__init__(key)
        self.status, self.key, self.values = status, key, values
