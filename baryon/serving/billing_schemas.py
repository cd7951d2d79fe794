"""Response bodies of the invoice routes (``/v1/invoices``, pydantic v2).

Kept apart from :mod:`baryon.serving.schemas` like the flywheel's bodies; imports
nothing but pydantic, so :mod:`baryon.client` types its answers with them. Money is an
exact decimal string (``"49.17"``), never a JSON number.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["InvoiceLineOut", "InvoiceOut"]

InvoiceStatus = Literal["draft", "issued", "paid", "void", "preview"]
LineKind = Literal["base", "trial", "usage", "overage", "route", "discount", "tax", "credit"]


class InvoiceLineOut(BaseModel):
    """One line of an invoice."""

    model_config = ConfigDict(extra="ignore")

    kind: LineKind
    description: str
    quantity: str = Field(description="Units, or the prorated share of a period.")
    unit_price: str | None
    amount: str = Field(description="Rounded half to even to the currency's minor unit.")
    units: int = Field(description="Usage units the line counts (usage lines).")
    plan: str | None
    route: str | None
    starts_at: datetime | None
    ends_at: datetime | None


class InvoiceOut(BaseModel):
    """An invoice: one organization, one billing period, money as exact strings."""

    model_config = ConfigDict(extra="ignore")

    id: str
    org_id: str
    org_name: str
    number: str | None = Field(description="INV-000042 once issued; null for a draft.")
    status: InvoiceStatus
    period_start: datetime
    period_end: datetime
    currency: str
    units: int
    subtotal: str
    discount: str
    tax_rate: str = Field(description="Percent.")
    tax: str
    credit_applied: str
    total: str
    lines: list[InvoiceLineOut]
    replaces_id: str | None
    void_reason: str | None
    created_at: datetime
    issued_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None
