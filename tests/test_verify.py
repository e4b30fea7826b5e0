import numpy as np
import pytest

import jacchain as jc
from jacchain.testing import plain_product, random_jacobians


def test_verify_passes_and_reports_differences():
    dims = [40, 3, 40, 3, 40]
    Js = random_jacobians(dims, 0)
    report = jc.verify(jc.plan(dims), Js)
    assert report.passed
    np.testing.assert_allclose(report.result, plain_product(Js))
    assert report.forward_abs_diff < 1e-12 and report.reverse_rel_diff < 1e-12
    assert report.rtol == pytest.approx(np.sqrt(np.finfo(np.float64).eps))
    assert "passed" in str(report)


def test_verify_defaults_to_the_result_dtype_tolerance():
    dims = [30, 2, 30, 2, 30]
    Js = random_jacobians(dims, 1, dtype=np.float32)
    report = jc.verify(jc.plan(dims), Js)
    assert report.rtol == pytest.approx(np.sqrt(np.finfo(np.float32).eps))


def test_verify_raises_when_orders_disagree_beyond_tolerance():
    # In float32 different bracketings round differently; a zero tolerance must catch it.
    dims = [60, 2, 60, 2, 60]
    Js = random_jacobians(dims, 2, dtype=np.float32)
    with pytest.raises(jc.VerificationError) as info:
        jc.verify(jc.plan(dims), Js, rtol=0.0)
    assert not info.value.report.passed
    assert info.value.report.forward_abs_diff > 0
    assert "FAILED" in str(info.value)


def test_verify_checks_its_inputs():
    with pytest.raises(jc.ShapeError):
        jc.verify(jc.plan([3, 4]), [np.ones((3, 4))])
