"""Money: supported currencies, their minor units, and the one rounding rule.

Every amount in Baryon is a :class:`~decimal.Decimal` with a currency; no amount ever
passes through a ``float``. :func:`round_money` rounds an amount to the currency's
minor unit with ``ROUND_HALF_EVEN`` (banker's rounding: a half goes to the even
neighbour, so ``0.125 → 0.12`` and ``0.135 → 0.14``; over many lines it neither
inflates nor deflates a total). :func:`exact` runs arithmetic in a decimal context
that traps ``FloatOperation``: mixing a float into money raises instead of silently
picking up binary noise.

The minor unit of each currency is its ISO 4217 exponent (ISO 4217:2015, table A.1:
``USD`` 2, ``JPY`` 0, ``KWD`` 3). Only the currencies in :data:`CURRENCIES` are
accepted; anything else is refused with code ``unknown_currency``.
"""

from __future__ import annotations

import contextlib
import decimal
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from types import MappingProxyType

from baryon.core.errors import InvalidInput

__all__ = [
    "CURRENCIES",
    "DEFAULT_CURRENCY",
    "check_currency",
    "exact",
    "minor_unit",
    "round_money",
]

#: Supported currencies → ISO 4217 exponent (digits after the decimal point).
CURRENCIES = MappingProxyType(
    {
        "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CNY": 2, "CZK": 2, "DKK": 2,
        "EUR": 2, "GBP": 2, "HKD": 2, "INR": 2, "JPY": 0, "KRW": 0, "KWD": 3, "MXN": 2,
        "NOK": 2, "NZD": 2, "PLN": 2, "SEK": 2, "SGD": 2, "USD": 2, "ZAR": 2,
    }
)  # fmt: skip

#: The currency of plans that name none (and of every plan made before currencies).
DEFAULT_CURRENCY = "USD"


def check_currency(code: object) -> str:
    """Return ``code`` as an upper-case supported ISO 4217 code (``"usd"`` → ``"USD"``).

    Raises
    ------
    InvalidInput
        Code ``unknown_currency`` (``details["supported"]`` lists the codes).
    """
    text = code.strip().upper() if isinstance(code, str) else ""
    if text not in CURRENCIES:
        raise InvalidInput(
            f"unknown currency {code!r}; supported: {', '.join(CURRENCIES)}",
            code="unknown_currency",
            details={"currency": str(code), "supported": list(CURRENCIES)},
        )
    return text


def minor_unit(currency: str) -> Decimal:
    """Return the smallest amount of ``currency``: ``Decimal("0.01")`` for USD, ``1`` for JPY."""
    return Decimal(1).scaleb(-CURRENCIES[check_currency(currency)])


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` to the minor unit of ``currency``, half to even.

    Parameters
    ----------
    amount : Decimal
    currency : str
        A code of :data:`CURRENCIES`.

    Returns
    -------
    Decimal
        With exactly the currency's number of decimal places (``Decimal("0.10")``).

    Raises
    ------
    TypeError
        ``amount`` is not a Decimal (a float is never money).
    InvalidInput
        Code ``unknown_currency``.
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, got {type(amount).__name__}")
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_EVEN)


@contextlib.contextmanager
def exact() -> Iterator[decimal.Context]:
    """A decimal context for money: 28 significant digits would be too few for
    ``price x units x seconds`` ratios, so 50; ``FloatOperation``, ``InvalidOperation``
    and ``DivisionByZero`` raise."""
    with decimal.localcontext() as ctx:
        ctx.prec = 50
        ctx.traps[decimal.FloatOperation] = True
        ctx.traps[decimal.InvalidOperation] = True
        ctx.traps[decimal.DivisionByZero] = True
        yield ctx
