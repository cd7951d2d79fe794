"""Masking of e-mail addresses, phone numbers, card numbers and IBANs."""

from __future__ import annotations

import pandas as pd
import pytest

from baryon.data.pii import iban_valid, luhn_valid, mask_json, mask_series, mask_text


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("4111111111111111", True),
        ("4111111111111112", False),
        ("79927398713", True),
        ("12a4", False),
    ],
)
def test_luhn_valid_known_numbers(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize(
    ("iban", "valid"),
    [
        ("DE89 3704 0044 0532 0130 00", True),
        ("GB82WEST12345698765432", True),
        ("GB82WEST12345698765433", False),
        ("DE89", False),
    ],
)
def test_iban_valid_known_numbers(iban: str, valid: bool) -> None:
    assert iban_valid(iban) is valid


@pytest.mark.parametrize(
    ("text", "masked", "kind"),
    [
        ("write to jo.doe+x@mail.example.com today", "write to [EMAIL] today", "email"),
        ("card 4111 1111 1111 1111 please", "card [CARD] please", "card"),
        ("card 4111-1111-1111-1111.", "card [CARD].", "card"),
        ("iban DE89 3704 0044 0532 0130 00 ok", "iban [IBAN] ok", "iban"),
        ("call +44 20 7946 0958 now", "call [PHONE] now", "phone"),
        ("call (555) 123-4567 now", "call [PHONE] now", "phone"),
        ("ring +33612345678", "ring [PHONE]", "phone"),
    ],
)
def test_mask_text_masks_each_kind(text: str, masked: str, kind: str) -> None:
    out, counts = mask_text(text)
    assert out == masked
    assert counts == {kind: 1}


@pytest.mark.parametrize(
    "text",
    [
        "order 113542617735902 is late",  # 15 digits starting with 1: an id, not a card
        "card 4111 1111 1111 1112 fails Luhn",
        "on 2024-01-31 at 10:00",
        "price 12.50 for 3 items",
        "reference 0612345678",  # a bare run of digits is never a phone number
        "GB82WEST12345698765433 bad check digits",
        "email me at nobody@localhost",
    ],
)
def test_mask_text_leaves_ordinary_text_alone(text: str) -> None:
    assert mask_text(text) == (text, {})


def test_mask_text_only_requested_kinds() -> None:
    text = "a@b.co and 4111 1111 1111 1111"
    out, counts = mask_text(text, kinds=["card"])
    assert out == "a@b.co and [CARD]"
    assert counts == {"card": 1}


def test_mask_series_counts_and_keeps_missing_values() -> None:
    series = pd.Series(["mail x@y.org", None, "nothing here", "x@y.org, z@w.io"])
    out, counts = mask_series(series)
    assert out.tolist()[0] == "mail [EMAIL]"
    assert out.isna().tolist() == [False, True, False, False]
    assert out.tolist()[3] == "[EMAIL], [EMAIL]"
    assert counts == {"email": 3}
    assert series.tolist()[0] == "mail x@y.org"  # input untouched


def test_mask_series_without_candidates_returns_input() -> None:
    series = pd.Series(["plain", "text"])
    out, counts = mask_series(series)
    assert out is series
    assert counts == {}


def test_mask_json_masks_strings_at_any_depth_and_keeps_the_rest() -> None:
    value = {
        "text": "write to ann@example.com",
        "n": 4111111111111111,  # a number is not text: kept
        "tags": ["call +44 20 7946 0958", None, True, 2.5],
        "ann@example.com": "key kept",
        "nested": {"card": "4111 1111 1111 1111"},
    }
    masked, counts = mask_json(value)
    assert masked == {
        "text": "write to [EMAIL]",
        "n": 4111111111111111,
        "tags": ["call [PHONE]", None, True, 2.5],
        "ann@example.com": "key kept",
        "nested": {"card": "[CARD]"},
    }
    assert counts == {"email": 1, "phone": 1, "card": 1}
    assert value["text"] == "write to ann@example.com"  # the input is not modified


def test_mask_json_plain_string_and_no_findings() -> None:
    assert mask_json("ann@example.com") == ("[EMAIL]", {"email": 1})
    assert mask_json(["good stuff", 3]) == (["good stuff", 3], {})
