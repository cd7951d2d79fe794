"""Baryon commerce layer: organizations (tenants), plans, subscriptions, billing periods,
invoices and licences.

See :mod:`baryon.commerce.plans` (plans, billing periods, charges in ``Decimal``),
:mod:`baryon.commerce.prices` (plan changes, price versions),
:mod:`baryon.commerce.orgs` (organizations and their subscriptions),
:mod:`baryon.commerce.charges` (invoice arithmetic), :mod:`baryon.commerce.invoices`
(invoices and their states), :mod:`baryon.commerce.accounts` (tax, discount,
credit), :mod:`baryon.commerce.billing` (closing periods,
reconciliation, the ``billing_close`` job), :mod:`baryon.commerce.money` (currencies,
rounding) and :mod:`baryon.commerce.licences` (signed licences).
"""

from __future__ import annotations

from baryon.commerce.billing import close_billing, reconcile
from baryon.commerce.invoices import Invoice, get_invoice, list_invoices
from baryon.commerce.licences import Licence, verify_licence
from baryon.commerce.orgs import (
    Organization,
    Subscription,
    active_subscription,
    create_org,
    get_org,
    list_orgs,
    subscribe,
    update_org,
)
from baryon.commerce.plans import (
    BUILTIN_PLANS,
    Plan,
    billing_period,
    create_plan,
    get_plan,
    list_plans,
)
from baryon.commerce.prices import archive_plan, update_plan

__all__ = [
    "BUILTIN_PLANS",
    "Invoice",
    "Licence",
    "Organization",
    "Plan",
    "Subscription",
    "active_subscription",
    "archive_plan",
    "billing_period",
    "close_billing",
    "create_org",
    "create_plan",
    "get_invoice",
    "get_org",
    "get_plan",
    "list_invoices",
    "list_orgs",
    "list_plans",
    "reconcile",
    "subscribe",
    "update_org",
    "update_plan",
    "verify_licence",
]
