"""Verification: a plan's result checked against pure forward and pure reverse evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import VerificationError
from ..plans.display import Displayed, ReportParts
from .evaluate import evaluate

if TYPE_CHECKING:
    from ..plans.plan import Plan

__all__ = ["VerificationReport", "verify"]


@dataclass(frozen=True)
class VerificationReport(Displayed):
    """How far a plan's result is from pure forward and pure reverse evaluation.

    Differences are norm-wise: ``abs_diff = max|R - P|`` and
    ``rel_diff = abs_diff / max|P|`` where R is the plan's result and P a pure mode's.
    The check passes when ``abs_diff <= atol + rtol * max|P|`` for both pure modes.

    Examples
    --------
    >>> import numpy as np, jacchain as jc
    >>> report = jc.verify(jc.plan([2, 3]), [np.ones((3, 2))])
    >>> report.passed, report.forward_abs_diff
    (True, 0.0)
    """

    result: np.ndarray
    forward_abs_diff: float
    forward_rel_diff: float
    reverse_abs_diff: float
    reverse_rel_diff: float
    rtol: float
    atol: float
    passed: bool

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"verification {verdict} (rtol={self.rtol:.1e}, atol={self.atol:.1e}): "
            f"vs forward max abs {self.forward_abs_diff:.3e} rel {self.forward_rel_diff:.3e}; "
            f"vs reverse max abs {self.reverse_abs_diff:.3e} rel {self.reverse_rel_diff:.3e}"
        )

    def __repr__(self) -> str:
        return f"<jacchain.VerificationReport {self}>"

    def _report_parts(self, max_rows: int = 20) -> ReportParts:
        """The report's parts: the verdict, the tolerances and both differences.

        Examples
        --------
        >>> import numpy as np, jacchain as jc
        >>> report = jc.verify(jc.plan([2, 3]), [np.ones((3, 2))])
        >>> print(report._report_parts().title)
        jacchain verification: passed
        """
        verdict = "passed" if self.passed else "FAILED"
        return ReportParts(f"jacchain verification: {verdict}", [
            ("Jacobian shape", str(self.result.shape)),
            ("tolerances", f"rtol {self.rtol:.1e}, atol {self.atol:.1e}"),
            ("vs forward mode", f"max abs diff {self.forward_abs_diff:.3e}, "
                                f"relative {self.forward_rel_diff:.3e}"),
            ("vs reverse mode", f"max abs diff {self.reverse_abs_diff:.3e}, "
                                f"relative {self.reverse_rel_diff:.3e}"),
        ], ["passes when max abs diff <= atol + rtol * max|pure mode's result|, for both modes"])


def _differences(result: np.ndarray, reference: np.ndarray) -> tuple[float, float, float]:
    abs_diff = float(np.max(np.abs(result - reference), initial=0.0))
    scale = float(np.max(np.abs(reference), initial=0.0))
    if scale == 0.0:
        rel_diff = 0.0 if abs_diff == 0.0 else float("inf")
    else:
        rel_diff = abs_diff / scale
    return abs_diff, rel_diff, scale


def verify(
    plan: Plan,
    jacobians: Sequence[Any],
    *,
    rtol: float | None = None,
    atol: float = 0.0,
    check_finite: bool = True,
) -> VerificationReport:
    """Evaluate ``plan`` and check it against pure forward and pure reverse evaluation.

    Parameters
    ----------
    plan : Plan
    jacobians : sequence of array_like
        One per layer, J_1 first (as for :func:`jacchain.evaluate`).
    rtol : float, optional
        Relative tolerance, norm-wise. Default: the square root of the machine epsilon of
        the result's dtype (about 1.5e-8 for float64, 3.5e-4 for float32).
    atol : float
        Absolute tolerance (default 0).
    check_finite : bool
        Passed on to :func:`jacchain.evaluate`.

    Returns
    -------
    VerificationReport
        With the plan's result in ``.result``.

    Raises
    ------
    VerificationError
        When the result differs from either pure mode beyond tolerance (the report is
        attached as ``.report``).

    Examples
    --------
    >>> import numpy as np, jacchain as jc
    >>> rng = np.random.default_rng(1)
    >>> dims = [50, 5, 50, 5, 50]
    >>> Js = [rng.standard_normal((dims[i + 1], dims[i])) for i in range(4)]
    >>> jc.verify(jc.plan(dims), Js).passed
    True
    """
    from ..plans.plan import plan as make_plan

    result = evaluate(plan, jacobians, check_finite=check_finite)
    forward = evaluate(make_plan(plan.chain, "forward"), jacobians, check_finite=check_finite)
    reverse = evaluate(make_plan(plan.chain, "reverse"), jacobians, check_finite=check_finite)
    if rtol is None:
        dtype = result.dtype if result.dtype.kind in "fc" else np.dtype(np.float64)
        rtol = float(np.sqrt(np.finfo(dtype).eps))
    f_abs, f_rel, f_scale = _differences(result, forward)
    r_abs, r_rel, r_scale = _differences(result, reverse)
    passed = f_abs <= atol + rtol * f_scale and r_abs <= atol + rtol * r_scale
    report = VerificationReport(
        result, f_abs, f_rel, r_abs, r_rel, float(rtol), float(atol), passed
    )
    if not passed:
        raise VerificationError(str(report), report)
    return report
