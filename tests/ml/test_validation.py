"""Tests of baryon.ml._validation: one error format for parameters, fitted state, arrays."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from baryon.core.errors import BaryonError, InvalidInput, ModelNotReady
from baryon.ml._validation import (
    BOOLEAN,
    RANDOM_STATE,
    Constraint,
    InstanceOf,
    Interval,
    NotConverged,
    NotFitted,
    Options,
    ParamsValidated,
    SequenceOf,
    as_float_matrix,
    as_float_vector,
    check_fitted,
    check_n_features,
    validate_params,
)


class _Toy(ParamsValidated, BaseEstimator):
    _param_constraints: ClassVar[dict[str, tuple[Constraint, ...]]] = {
        "rate": (Interval("real", 0, None, closed="neither"),),
        "mode": (Options(("a", "b")),),
        "size": (None, Interval("integral", 1, None)),
    }

    def __init__(self, *, rate: float = 0.1, mode: str = "a", size: int | None = None) -> None:
        self.rate = rate
        self.mode = mode
        self.size = size


def test_interval_bounds_closed_and_open_edges():
    right_open = Interval("real", 0, 1, closed="left")
    assert right_open.is_satisfied_by(0)
    assert right_open.is_satisfied_by(0.5)
    assert not right_open.is_satisfied_by(1)
    assert not Interval("real", 0, None, closed="neither").is_satisfied_by(0.0)


def test_interval_rejects_bool_nan_and_wrong_kind():
    integral = Interval("integral", 0, None)
    assert integral.is_satisfied_by(np.int64(3))
    assert not integral.is_satisfied_by(True)
    assert not integral.is_satisfied_by(2.0)
    assert not Interval("real", None, None).is_satisfied_by(float("nan"))
    assert not Interval("real", None, None).is_satisfied_by("1")


def test_options_true_is_not_one_and_one_is_not_true():
    assert not Options((1,)).is_satisfied_by(True)
    assert not Options((True,)).is_satisfied_by(1)
    assert Options(("auto", True, False)).is_satisfied_by(False)
    assert Options(("auto", True, False)).is_satisfied_by("auto")


def test_sequence_of_requires_non_empty_list_of_items():
    sizes = SequenceOf(Interval("integral", 1, None), "sizes")
    assert sizes.is_satisfied_by((64,))
    assert sizes.is_satisfied_by([32, 16])
    assert not sizes.is_satisfied_by([])
    assert not sizes.is_satisfied_by([0])
    assert not sizes.is_satisfied_by(64)


def test_boolean_and_random_state_constraints():
    assert BOOLEAN.is_satisfied_by(np.bool_(True))
    assert not BOOLEAN.is_satisfied_by(1)
    assert any(c is None for c in RANDOM_STATE)
    assert not InstanceOf((int,), "an int").is_satisfied_by(True)


def test_validate_params_bad_value_raises_invalid_param_naming_it():
    with pytest.raises(InvalidInput) as info:
        _Toy(rate=-1.0)._check_params()
    err = info.value
    assert err.code == "invalid_param"
    assert err.details["param"] == "rate"
    assert "rate=-1.0" in err.message
    assert "_Toy" in err.message


def test_validate_params_none_allowed_only_where_listed():
    _Toy(size=None)._check_params()
    with pytest.raises(InvalidInput, match="mode=None"):
        _Toy(mode=None)._check_params()  # type: ignore[arg-type]


def test_validate_params_undeclared_parameter_is_a_programming_error():
    with pytest.raises(TypeError, match="size"):
        validate_params(_Toy(), {"rate": (Interval("real", 0, None),), "mode": (Options(("a",)),)})


def test_not_fitted_is_baryon_model_not_ready_and_sklearn_not_fitted():
    with pytest.raises(NotFitted) as info:
        check_fitted(_Toy(), "coef_")
    err = info.value
    assert err.code == "not_fitted"
    assert isinstance(err, ModelNotReady)
    assert isinstance(err, NotFittedError)
    assert "fit" in err.message


def test_not_converged_is_a_baryon_error_with_its_code():
    err = NotConverged("diverged", details={"iteration": 3})
    assert isinstance(err, BaryonError)
    assert err.code == "not_converged"


def test_as_float_matrix_nan_names_the_column():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [np.nan, 1.0]})
    with pytest.raises(InvalidInput) as info:
        as_float_matrix(frame, estimator=_Toy())
    assert info.value.code == "non_finite_input"
    assert "'b'" in info.value.message


def test_as_float_matrix_text_column_is_non_numeric():
    frame = pd.DataFrame({"a": [1.0, 2.0], "city": ["Oslo", "Rome"]})
    with pytest.raises(InvalidInput) as info:
        as_float_matrix(frame, estimator=_Toy())
    assert info.value.code == "non_numeric_input"
    assert info.value.details["column"] == "city"


@pytest.mark.parametrize(
    ("X", "code"),
    [(np.zeros((0, 2)), "empty_input"), (np.zeros(3), "invalid_input")],
)
def test_as_float_matrix_bad_shapes(X, code):
    with pytest.raises(InvalidInput) as info:
        as_float_matrix(X, estimator=_Toy())
    assert info.value.code == code


def test_as_float_vector_length_and_infinity():
    assert as_float_vector([1, 2], estimator=_Toy(), n_samples=2).dtype == np.float64
    with pytest.raises(InvalidInput, match="shape"):
        as_float_vector([1, 2, 3], estimator=_Toy(), n_samples=2)
    with pytest.raises(InvalidInput) as info:
        as_float_vector([1, np.inf], estimator=_Toy(), n_samples=2)
    assert info.value.code == "non_finite_input"


def test_check_n_features_mismatch():
    toy = _Toy()
    toy.n_features_in_ = 3
    check_n_features(toy, 3)
    with pytest.raises(InvalidInput) as info:
        check_n_features(toy, 2)
    assert info.value.code == "feature_mismatch"
    assert info.value.details == {"expected": 3, "got": 2}
