from __future__ import annotations

import pytest

from baryon.core import errors
from baryon.core.errors import BaryonError, InvalidInput, NotFound, http_status_for


def test_invalid_input_is_value_error_with_stable_code() -> None:
    exc = InvalidInput("bad")
    assert isinstance(exc, ValueError)
    assert exc.code == "invalid_input"
    assert exc.http_status == 422


def test_code_override_is_per_instance() -> None:
    exc = InvalidInput("empty", code="empty_file", details={"path": "x"})
    assert exc.code == "empty_file"
    assert InvalidInput.code == "invalid_input"
    assert exc.to_dict() == {"code": "empty_file", "message": "empty", "details": {"path": "x"}}


@pytest.mark.parametrize("name", errors.__all__)
def test_every_error_class_has_unique_code(name: str) -> None:
    obj = getattr(errors, name)
    if not isinstance(obj, type) or not issubclass(obj, BaryonError):
        return  # ErrorCode, CODES: the catalogue, not an error class
    codes = [
        c.code for c in vars(errors).values() if isinstance(c, type) and issubclass(c, BaryonError)
    ]
    assert codes.count(obj.code) == 1


def test_http_status_for_unknown_error_is_500() -> None:
    assert http_status_for(RuntimeError("x")) == 500
    assert http_status_for(NotFound("x")) == 404
