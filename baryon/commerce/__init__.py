"""Baryon commerce layer: organizations (tenants), plans, subscriptions, billing periods.

See :mod:`baryon.commerce.plans` (plans, billing periods, charges in ``Decimal``) and
:mod:`baryon.commerce.orgs` (organizations and their subscriptions).
"""

from __future__ import annotations

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
    estimate_charge,
    get_plan,
    list_plans,
)

__all__ = [
    "BUILTIN_PLANS",
    "Organization",
    "Plan",
    "Subscription",
    "active_subscription",
    "billing_period",
    "create_org",
    "create_plan",
    "estimate_charge",
    "get_org",
    "get_plan",
    "list_orgs",
    "list_plans",
    "subscribe",
    "update_org",
]
