"""The ten tasks of the Graphax / AlphaGrad benchmark suite, written in JAX.

AlphaGrad (Lohoff and Neftci, "Optimizing automatic differentiation with deep reinforcement
learning", NeurIPS 2024) counts the multiplications of vertex elimination on the
computational graphs of ten functions, whose sources are public in the GitHub repository
jamielohoff/graphax (``src/graphax/examples/``) and whose inputs are set in
jamielohoff/alphagrad (``src/alphagrad/experiments.py``). This module reimplements them
from their mathematical definitions (no code is copied), keeping each task's inputs
(number, shapes) and outputs (number, shapes) as in the originals, since the published
counts depend on the graph. Where an original departs from its own mathematics (a typo'd
index, a wrong sign, a layer norm over the wrong axis), the task here follows the
mathematics and its docstring says so: the graphs are therefore close to, not always
identical with, the graphs AlphaGrad counted, and so are their costs (RobotArm_6DOF,
HumanHeartDipole, PropaneCombustion and g give AlphaGrad's forward, reverse and Markowitz
counts exactly; ``tests/test_graphax_tasks.py`` checks them). ``f`` and ``g`` are randomly
generated programs, whose definition is the program itself: they are transcribed operation
for operation (``f`` as code, ``g`` as a table of operations).

Each :class:`Task` holds the function, a sampler of example inputs in the function's valid
domain (deterministic for a seed), and its metadata; :data:`TASKS` maps names to tasks,
:data:`PUBLISHED` holds AlphaGrad's forward / reverse / Markowitz multiplication counts,
and :func:`batched_inputs` stacks example inputs for ``jax.vmap``.

Run the suite with ``python experiments/graphax_suite.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.special import erf

__all__ = ["Task", "TASKS", "PUBLISHED", "batched_inputs"]

GRAPHAX = "jamielohoff/graphax: src/graphax/examples/"

PUBLISHED: dict[str, tuple[int, int, int]] = {
    "RoeFlux_1d": (620, 364, 407),
    "RobotArm_6DOF": (397, 301, 288),
    "HumanHeartDipole": (240, 172, 194),
    "PropaneCombustion": (151, 90, 111),
    "g": (632, 566, 451),
    "BlackScholes_Jacobian": (545, 572, 350),
    "RoeFlux_3d": (1556, 979, 956),
    "f": (17728, 9333, 12257),
    "Encoder": (135956, 4688, 51896),
    "Perceptron": (11012, 392, 4796),
}
"""AlphaGrad's multiplication counts (forward, reverse, minimal Markowitz) per task.

They count every product of two partials, a multiplication by a +-1 partial included, on
Graphax's graphs of the original functions (jacchain's ``unit_partials="counted"``).
"""

Sampler = Callable[[np.random.Generator], tuple[np.ndarray, ...]]


@dataclass(frozen=True)
class Task:
    """One benchmark function, its example inputs and its metadata.

    Attributes
    ----------
    name : str
        The task's name in AlphaGrad's tables.
    function : callable
        The JAX function; its positional arguments are the task's inputs.
    sample : callable
        ``sample(rng)`` draws one set of inputs (float64 numpy arrays) from ``rng``, a
        ``numpy.random.Generator``, inside the function's valid domain.
    source : str
        The file of jamielohoff/graphax the task follows.
    description : str
        What the function computes.
    input_shapes : tuple of tuple of int
        The shape of each positional input.
    output_shapes : tuple of tuple of int
        The shapes of the output's leaves, in ``jax.tree.leaves`` order.

    Examples
    --------
    >>> task = TASKS["HumanHeartDipole"]
    >>> len(task.inputs(seed=0)), task.output_shapes[0]
    (8, ())
    """

    name: str
    function: Callable[..., Any]
    sample: Sampler
    source: str
    description: str
    input_shapes: tuple[tuple[int, ...], ...]
    output_shapes: tuple[tuple[int, ...], ...]

    def inputs(self, seed: int = 0, dtype: Any = jnp.float32) -> tuple[jax.Array, ...]:
        """One deterministic set of example inputs as JAX arrays of ``dtype``.

        Parameters
        ----------
        seed : int
            Seed of the numpy generator the inputs are drawn from.
        dtype : dtype
            Floating dtype of the arrays (float64 needs ``jax_enable_x64``).

        Returns
        -------
        tuple of jax.Array
            One array per positional input, of the shapes in ``input_shapes``.

        Examples
        --------
        >>> [x.shape for x in TASKS["RoeFlux_3d"].inputs(seed=1)]
        [(1,), (3,), (1,), (1,), (3,), (1,)]
        """
        drawn = self.sample(np.random.default_rng(seed))
        return tuple(jnp.asarray(x, dtype=dtype) for x in drawn)

    def __call__(self, *args: Any) -> Any:
        """Evaluate the task's function.

        Examples
        --------
        >>> task = TASKS["PropaneCombustion"]
        >>> len(task(*task.inputs()))
        11
        """
        return self.function(*args)


def batched_inputs(
    task: Task, batch: int, seed: int = 0, dtype: Any = jnp.float32
) -> tuple[jax.Array, ...]:
    """``batch`` sets of example inputs stacked along a new leading axis, for ``jax.vmap``.

    Parameters
    ----------
    task : Task
        The task whose inputs are drawn.
    batch : int
        How many input sets (at least 1).
    seed : int
        Seed of the one generator all sets are drawn from, in order.
    dtype : dtype
        Floating dtype of the arrays.

    Returns
    -------
    tuple of jax.Array
        Input ``i`` has shape ``(batch,) + task.input_shapes[i]``.

    Examples
    --------
    >>> xs = batched_inputs(TASKS["Perceptron"], 128, seed=0)
    >>> xs[2].shape
    (128, 8, 4)
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    rng = np.random.default_rng(seed)
    draws = [task.sample(rng) for _ in range(batch)]
    return tuple(jnp.asarray(np.stack(column), dtype=dtype) for column in zip(*draws, strict=True))


def _uniform(rng: np.random.Generator, low: float, high: float, shape=()) -> np.ndarray:
    return rng.uniform(low, high, size=shape)


# ---------------------------------------------------------------------------------------
# Computational fluid dynamics: Roe's approximate Riemann solver for the Euler equations.

GAMMA = 1.4
"""Ratio of specific heats of the ideal gas (air); the Graphax examples use 0.5."""


def _pressure(rho: Any, momentum_squared: Any, energy: Any) -> Any:
    """Ideal-gas pressure p = (gamma - 1) (E - |m|^2 / (2 rho))."""
    return (GAMMA - 1.0) * (energy - 0.5 * momentum_squared / rho)


def _roe_average(sqrt_left: Any, left: Any, sqrt_right: Any, right: Any) -> Any:
    """Roe's density-weighted average of a left and a right quantity."""
    return (sqrt_left * left + sqrt_right * right) / (sqrt_left + sqrt_right)


def _euler_state(rho: np.ndarray, velocity: np.ndarray, pressure: np.ndarray):
    """Conserved variables (rho, momentum, energy) of a primitive state."""
    momentum = rho * velocity
    energy = pressure / (GAMMA - 1.0) + 0.5 * rho * np.sum(velocity**2, axis=-1, keepdims=True)
    return rho, momentum, energy


def roe_flux_1d(ul0: Any, ul1: Any, ul2: Any, ur0: Any, ur1: Any, ur2: Any) -> tuple:
    """Roe's numerical flux of the 1-D Euler equations between two states.

    Roe (1981) flux as in the Graphax example ``roe.py``: the inputs are the conserved
    variables (density, momentum, total energy) of the left state and of the right state,
    six scalars; the outputs are the three flux components,
    ``0.5 (F(U_L) + F(U_R) - sum_k |lambda_k| alpha_k r_k)`` over the acoustic waves
    ``u -+ a`` and the entropy wave ``u`` at Roe's averaged state. Unlike the example, the
    slow acoustic wave is weighted by ``|u - a|`` (the example repeats ``|u|``) and the gas
    is air (gamma = 1.4, where the example uses 0.5).

    Examples
    --------
    >>> rho, m, e = 1.0, 0.0, 2.5     # gas at rest: the flux is the pressure alone
    >>> [round(float(x), 6) for x in roe_flux_1d(rho, m, e, rho, m, e)]
    [0.0, 1.0, 0.0]
    """
    sl, sr = jnp.sqrt(ul0), jnp.sqrt(ur0)
    vl, vr = ul1 / ul0, ur1 / ur0
    pl, pr = _pressure(ul0, ul1**2, ul2), _pressure(ur0, ur1**2, ur2)
    hl, hr = (ul2 + pl) / ul0, (ur2 + pr) / ur0
    u, h = _roe_average(sl, vl, sr, vr), _roe_average(sl, hl, sr, hr)
    a2 = (GAMMA - 1.0) * (h - 0.5 * u**2)
    a = jnp.sqrt(a2)
    rho = jnp.sqrt(ul0 * ur0)
    d_rho, d_u, d_p = ur0 - ul0, vr - vl, pr - pl
    # wave strengths times |eigenvalue|: slow acoustic, entropy, fast acoustic
    slow = jnp.abs(u - a) * (d_p - rho * a * d_u) / (2.0 * a2)
    entropy = jnp.abs(u) * (d_rho - d_p / a2)
    fast = jnp.abs(u + a) * (d_p + rho * a * d_u) / (2.0 * a2)
    dissipation = (
        slow + entropy + fast,
        slow * (u - a) + entropy * u + fast * (u + a),
        slow * (h - u * a) + entropy * 0.5 * u**2 + fast * (h + u * a),
    )
    left = (ul1, ul1 * vl + pl, vl * (ul2 + pl))
    right = (ur1, ur1 * vr + pr, vr * (ur2 + pr))
    return tuple(0.5 * (fl + fr - df) for fl, fr, df in zip(left, right, dissipation, strict=True))


def _roe_1d_inputs(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    states = []
    for _ in range(2):  # subsonic flow to the right: every eigenvalue is away from zero
        rho = _uniform(rng, 0.5, 2.0, (1,))
        velocity = _uniform(rng, 0.1, 0.5, (1,))
        pressure = _uniform(rng, 0.5, 2.0, (1,))
        states += [x.reshape(()) for x in _euler_state(rho, velocity, pressure)]
    return tuple(states)


def roe_flux_3d(ul0: Any, ul: Any, ul4: Any, ur0: Any, ur: Any, ur4: Any) -> tuple:
    """Roe's numerical flux of the 3-D Euler equations across a face normal to x.

    Roe (1981) flux as in the Graphax example ``roe.py`` (its vectorized ``RoeFlux_3d``):
    the inputs are, per side, the density ``(1,)``, the momentum ``(3,)`` and the total
    energy ``(1,)``; the outputs are the mass flux ``(1,)``, the momentum flux ``(3,)`` and
    the energy flux ``(1,)``. The dissipation sums ``|lambda_k| alpha_k r_k`` over the
    acoustic waves ``u -+ a``, the entropy wave and the two shear waves, with the textbook
    wave strengths from primitive differences (Toro, "Riemann solvers", ch. 11). The example
    computes other strengths (dividing by the transverse velocities, one with a wrong
    index), omits the absolute values of the eigenvalues, and writes the momentum flux as
    ``m * v`` componentwise; here the flux is the physical ``m_x v + p e_x``.

    Examples
    --------
    >>> rho, m, e = jnp.ones(1), jnp.zeros(3), jnp.full(1, 2.5)   # gas at rest
    >>> mass, momentum, energy = roe_flux_3d(rho, m, e, rho, m, e)
    >>> [round(float(x), 6) for x in momentum]
    [1.0, 0.0, 0.0]
    """
    e_x = jnp.zeros(3, dtype=ul.dtype).at[0].set(1.0)
    sl, sr = jnp.sqrt(ul0), jnp.sqrt(ur0)
    vel_l, vel_r = ul / ul0, ur / ur0
    pl, pr = _pressure(ul0, jnp.sum(ul**2, keepdims=True), ul4), _pressure(
        ur0, jnp.sum(ur**2, keepdims=True), ur4
    )
    hl, hr = (ul4 + pl) / ul0, (ur4 + pr) / ur0
    vel, h = _roe_average(sl, vel_l, sr, vel_r), _roe_average(sl, hl, sr, hr)
    u = vel[0:1]
    q2 = jnp.sum(vel**2, keepdims=True)
    a2 = (GAMMA - 1.0) * (h - 0.5 * q2)
    a = jnp.sqrt(a2)
    rho = jnp.sqrt(ul0 * ur0)
    d_rho, d_vel, d_p = ur0 - ul0, vel_r - vel_l, pr - pl
    d_u = d_vel[0:1]
    slow = jnp.abs(u - a) * (d_p - rho * a * d_u) / (2.0 * a2)
    entropy = jnp.abs(u) * (d_rho - d_p / a2)
    fast = jnp.abs(u + a) * (d_p + rho * a * d_u) / (2.0 * a2)
    shear = jnp.abs(u) * rho * (d_vel - d_u * e_x)  # the two shear waves, x entry zero
    d_mass = slow + entropy + fast
    d_momentum = slow * (vel - a * e_x) + entropy * vel + shear + fast * (vel + a * e_x)
    d_energy = (
        slow * (h - u * a)
        + entropy * 0.5 * q2
        + jnp.sum(shear * vel, keepdims=True)
        + fast * (h + u * a)
    )
    mass = ul[0:1] + ur[0:1]
    momentum = ul[0:1] * vel_l + pl * e_x + ur[0:1] * vel_r + pr * e_x
    energy = vel_l[0:1] * (ul4 + pl) + vel_r[0:1] * (ur4 + pr)
    return 0.5 * (mass - d_mass), 0.5 * (momentum - d_momentum), 0.5 * (energy - d_energy)


def _roe_3d_inputs(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    states = []
    for _ in range(2):
        rho = _uniform(rng, 0.5, 2.0, (1,))
        velocity = _uniform(rng, 0.1, 0.5, (3,))
        pressure = _uniform(rng, 0.5, 2.0, (1,))
        states += list(_euler_state(rho, velocity, pressure))
    return tuple(states)


# ---------------------------------------------------------------------------------------
# Robotics: forward kinematics of a six-axis industrial arm.

ARM = {"a1": 175.0, "a2": 890.0, "a3": 50.0, "d1": 575.0, "d4": 1035.0, "d6": 185.0}
"""Denavit-Hartenberg link lengths and offsets (mm) of the arm in the Graphax example."""


def robot_arm_6dof(t1: Any, t2: Any, t3: Any, t4: Any, t5: Any, t6: Any) -> tuple:
    """Pose of a six-axis arm's end effector from its joint angles.

    Forward kinematics as in the Graphax example ``differential_kinematics.py`` (which
    follows dergipark.org.tr/en/download/article-file/2289226): six joint angles in, the
    tool position ``(px, py, pz)`` and its orientation as Tait-Bryan angles (z, y, z) out.
    ``cos(t2 + t3)`` and ``sin(t2 + t3)`` are expanded by the angle-sum formulas, and the
    expressions are written out where they recur, as in the example (the approach vector
    in the position, the arm's reach in ``px`` and ``py``, the tilt in ``nz`` and ``oz``),
    since AlphaGrad's published counts are for that graph. The example's ``py`` flips the
    sign of one term of the approach vector (``+ c1 s4`` where its own ``ay`` has
    ``- c1 s4``); here ``py`` uses ``ay``'s sign (the same graph either way).

    Examples
    --------
    >>> pose = robot_arm_6dof(*[jnp.float32(0.0)] * 6)
    >>> [round(float(x)) for x in pose[:3]]          # px = a1 + a2 + a3, pz = d1 - d4 - d6
    [1115, 0, -645]
    """
    a1, a2, a3, d1, d4, d6 = (ARM[k] for k in ("a1", "a2", "a3", "d1", "d4", "d6"))

    def sum_sin(a: Any, b: Any) -> Any:  # sin(a + b)
        return jnp.cos(a) * jnp.sin(b) + jnp.sin(a) * jnp.cos(b)

    def sum_cos(a: Any, b: Any) -> Any:  # cos(a + b)
        return jnp.cos(a) * jnp.cos(b) - jnp.sin(a) * jnp.sin(b)

    c1, c2, c4, c5, c6 = jnp.cos(t1), jnp.cos(t2), jnp.cos(t4), jnp.cos(t5), jnp.cos(t6)
    c23 = sum_cos(t2, t3)
    s1, s2, s4, s5, s6 = jnp.sin(t1), jnp.sin(t2), jnp.sin(t4), jnp.sin(t5), jnp.sin(t6)
    s23 = sum_sin(t2, t3)
    # approach vector (third column of the tool's rotation matrix)
    ax = s5 * (c1 * c23 * c4 + s1 * s4) + c1 * s23 * c5
    ay = s5 * (s1 * c23 * c4 - c1 * s4) + s1 * s23 * c5
    az = s23 * c4 * s5 - c23 * c5
    # z entries of the normal and orientation vectors
    nz = c6 * (c23 * s5 + s23 * c4 * c5) - s23 * s4 * s6
    oz = -s6 * (c23 * s5 + s23 * c4 * c5) - s23 * s4 * c6
    yaw = jnp.arctan2(ay, ax)
    pitch = jnp.arctan2(jnp.sqrt(1.0 - az**2), az)
    roll = jnp.arctan2(oz, -nz)
    px = (d6 * (s5 * (c1 * c23 * c4 + s1 * s4) + c1 * s23 * c5)
          + c1 * (a1 + a2 * c2 + a3 * c23 + d4 * s23))
    py = (d6 * (s5 * (s1 * c23 * c4 - c1 * s4) + s1 * s23 * c5)
          + s1 * (a1 + a2 * c2 + a3 * c23 + d4 * s23))
    pz = a2 * s2 + d1 + a3 * s23 - d4 * c23 + d6 * (s23 * c4 * s5 - c23 * c5)
    return px, py, pz, yaw, pitch, roll


def _robot_inputs(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    return tuple(_uniform(rng, 0.2, 1.2) for _ in range(6))  # away from gimbal lock


# ---------------------------------------------------------------------------------------
# MINPACK-2 nonlinear systems (Averick, Carter, More and Xue, 1992).

DIPOLE = {"mx": 1.0, "my": 1.0, "A": 1.0, "B": 1.0, "C": 1.0, "D": 1.0, "E": 1.0, "F": 1.0}
"""Measured moments of the human heart dipole problem (all 1, as in the Graphax example)."""


def human_heart_dipole(x1, x2, x3, x4, x5, x6, x7, x8) -> tuple:
    """Residuals of the human heart dipole problem (MINPACK-2, Nelson and Hodgkin).

    As in the Graphax example ``minpack.py``: eight unknowns (two dipole masses, two
    positions, two moments per axis) in, eight residuals out, the moment equations of
    degree 1 to 3 of the dipoles ``x1 + i x3`` and ``x2 + i x4`` at positions
    ``x5 + i x7`` and ``x6 + i x8`` against the measured moments (all 1). The example
    subtracts ``sigma_E`` from the last residual as well; here it is ``sigma_F`` (also 1).

    Examples
    --------
    >>> r = human_heart_dipole(*[jnp.float32(0.5)] * 8)
    >>> [round(float(v), 4) for v in r[:4]]
    [0.0, 0.0, -1.0, 0.0]
    """
    s = DIPOLE
    x57, x68 = x5**2 - x7**2, x6**2 - x8**2
    cube5 = x5 * (x5**2 - 3 * x7**2)
    cube7 = x7 * (x7**2 - 3 * x5**2)
    cube6 = x6 * (x6**2 - 3 * x8**2)
    cube8 = x8 * (x8**2 - 3 * x6**2)
    return (
        x1 + x2 - s["mx"],
        x3 + x4 - s["my"],
        x5 * x1 + x6 * x2 - x7 * x3 - x8 * x4 - s["A"],
        x7 * x1 + x8 * x2 + x5 * x3 + x6 * x4 - s["B"],
        x1 * x57 - 2 * x3 * x5 * x7 + x2 * x68 - 2 * x4 * x6 * x8 - s["C"],
        x3 * x57 - 2 * x1 * x5 * x7 + x4 * x68 - 2 * x2 * x6 * x8 - s["D"],
        x1 * cube5 + x3 * cube7 + x2 * cube6 + x4 * cube8 - s["E"],
        x3 * cube5 - x1 * cube7 + x4 * cube6 - x2 * cube8 - s["F"],
    )


def _dipole_inputs(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    return tuple(_uniform(rng, -1.0, 1.0) for _ in range(8))


PROPANE = {"p": 40.0, "R": 10.0}
"""Pressure and air-to-fuel ratio of the propane combustion problem (Graphax values)."""


def propane_combustion(x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11) -> tuple:
    """Residuals of propane combustion in air, full formulation (MINPACK-2).

    As in the Graphax example ``minpack.py`` (Meintjes and Morgan's equilibrium system):
    eleven species amounts in (``x11`` the total), eleven residuals out: four element
    balances, six equilibrium relations, and the total. Every input must be positive.

    Examples
    --------
    >>> r = propane_combustion(*[jnp.float32(1.0)] * 10, jnp.float32(10.0))
    >>> round(float(r[0]), 4), round(float(r[10]), 4)
    (-1.0, 0.0)
    """
    p, big_r = PROPANE["p"], PROPANE["R"]
    scale = jnp.sqrt(p / x11)
    return (
        x1 + x4 - 3.0,
        2 * x1 + x2 + x4 + x7 + x8 + x9 + 2 * x10 - big_r,
        2 * x2 + 2 * x5 + x6 + x7 - 8.0,
        2 * x3 + x9 - 4 * big_r,
        x2 * x4 - x1 * x5,
        jnp.sqrt(x2 * x4) - jnp.sqrt(x1) * scale * x6,
        jnp.sqrt(x1 * x2) - jnp.sqrt(x4) * x7 * scale,
        x1 - x4 * x8 * p / x11,
        x1 * jnp.sqrt(x3) - x4 * x9 * scale,
        x1**2 - x4**2 * x10 * p / x11,
        x11 - x1 - x2 - x3 - x4 - x5 - x6 - x7 - x8 - x9 - x10,
    )


def _propane_inputs(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    return tuple(_uniform(rng, 0.1, 1.0) for _ in range(11))


# ---------------------------------------------------------------------------------------
# Finance: the Black-Scholes price and its first-order greeks.


def _normal_cdf(z: Any) -> Any:
    return 0.5 * (1.0 + erf(z / np.sqrt(2.0)))


def black_scholes(S: Any, K: Any, r: Any, sigma: Any, T: Any) -> Any:
    """Black-Scholes price of a European call, through Black's (1976) forward formula.

    Examples
    --------
    >>> round(float(black_scholes(1.0, 1.0, 0.0, 0.2, 1.0)), 4)   # at the money
    0.0797
    """
    forward = jnp.exp(r * T) * S
    d1 = (jnp.log(forward / K) + 0.5 * sigma**2 * T) / (sigma * jnp.sqrt(T))
    d2 = d1 - sigma * jnp.sqrt(T)
    return jnp.exp(-r * T) * (forward * _normal_cdf(d1) - K * _normal_cdf(d2))


def black_scholes_jacobian(S: Any, K: Any, r: Any, sigma: Any, T: Any) -> tuple:
    """The five first-order greeks of the Black-Scholes price, by reverse mode.

    As in the Graphax example ``economics.py``: the gradient of :func:`black_scholes` with
    respect to spot, strike, rate, volatility and maturity (delta, dual delta, rho, vega,
    minus theta), computed by reverse mode (``jax.grad``; the example uses Graphax's
    ``jacve(order="rev")``). Its Jacobian holds the second-order greeks.

    Examples
    --------
    >>> delta, dual_delta, rho, vega, minus_theta = black_scholes_jacobian(1.0, 1.0, 0.0, 0.2, 1.0)
    >>> round(float(delta), 4), round(float(vega), 4)
    (0.5398, 0.397)
    """
    return jax.grad(black_scholes, argnums=(0, 1, 2, 3, 4))(S, K, r, sigma, T)


def _black_scholes_inputs(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    return (
        _uniform(rng, 0.8, 1.2),  # spot
        _uniform(rng, 0.8, 1.2),  # strike
        _uniform(rng, 0.01, 0.1),  # rate
        _uniform(rng, 0.1, 0.5),  # volatility
        _uniform(rng, 0.5, 2.0),  # maturity
    )


# ---------------------------------------------------------------------------------------
# Deep learning: a perceptron and a two-block transformer encoder, each with its loss.


def _softmax_cross_entropy(logits: Any, labels: Any) -> Any:
    """Cross-entropy of ``softmax(logits)`` against ``labels`` along the last axis."""
    return -jnp.sum(labels * jnp.log(jax.nn.softmax(logits, axis=-1)), axis=-1)


def _layer_norm(x: Any, gamma: Any, beta: Any, axis: int) -> Any:
    """Normalize ``x`` to zero mean and unit variance along ``axis``, then scale and shift."""
    mean = jnp.mean(x, axis=axis, keepdims=True)
    variance = jnp.mean((x - mean) ** 2, axis=axis, keepdims=True)
    return (x - mean) / jnp.sqrt(variance + 1e-6) * gamma + beta


def perceptron(x, y, W1, b1, W2, b2, gamma, beta) -> Any:
    """Loss of a two-layer tanh perceptron with a layer norm, on one example.

    As in the Graphax example ``deep_learning.py``: ``x`` ``(4,)`` and the label
    distribution ``y`` ``(4,)``, the weights ``W1`` ``(8, 4)``, ``b1`` ``(8,)``, ``W2``
    ``(4, 8)``, ``b2`` ``(4,)`` and the layer norm's scalar ``gamma`` and ``beta`` in; the
    softmax cross-entropy of ``tanh(W2 LN(tanh(W1 x + b1)) + b2)`` against ``y`` out, a
    scalar. (An earlier version of the example ends in a squared error; the version whose
    Encoder takes the sixteen inputs AlphaGrad passes ends in this cross-entropy.)

    Examples
    --------
    >>> task = TASKS["Perceptron"]
    >>> jax.eval_shape(task.function, *task.inputs()).shape
    ()
    """
    hidden = jnp.tanh(W1 @ x + b1)
    hidden = _layer_norm(hidden, gamma, beta, axis=-1)
    return _softmax_cross_entropy(jnp.tanh(W2 @ hidden + b2), y)


def _perceptron_inputs(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    logits = rng.standard_normal(4)
    return (
        rng.standard_normal(4),
        np.exp(logits) / np.sum(np.exp(logits)),
        rng.standard_normal((8, 4)) / 2.0,
        0.1 * rng.standard_normal(8),
        rng.standard_normal((4, 8)) / np.sqrt(8.0),
        0.1 * rng.standard_normal(4),
        _uniform(rng, 0.8, 1.2),
        _uniform(rng, -0.1, 0.1),
    )


def _encoder_block(x, WQ, WK, WV, W, b, gamma, beta) -> Any:
    """Single-head self-attention with a residual, a layer norm, then a SiLU dense layer.

    ``x`` holds one token per column; attention weights are a softmax over the keys.
    """
    q, k, v = WQ @ x, WK @ x, WV @ x
    weights = jax.nn.softmax(q.T @ k, axis=1)  # (query token, key token)
    c = _layer_norm(x + v @ weights.T, gamma, beta, axis=0)
    z = W @ c + b
    return z * jax.nn.sigmoid(z)


def encoder(x, y, WQ1, WQ2, WK1, WK2, WV1, WV2, W1, W2, b1, b2, gamma0, beta0, gamma1, beta1):
    """Loss of a two-block transformer encoder on one sequence of four tokens.

    As in the Graphax example ``deep_learning.py`` with the sixteen inputs AlphaGrad
    passes: ``x`` ``(4, 4)`` (one token of width 4 per column), labels ``y`` ``(2, 4)``,
    attention weights ``WQ*``, ``WK*``, ``WV*`` ``(4, 4)``, dense weights ``W1`` ``(4, 4)``
    and ``W2`` ``(2, 4)``, biases ``b1`` ``(4,)`` and ``b2`` ``(2, 1)``, and one scalar
    ``gamma``, ``beta`` per layer norm. Out: the softmax cross-entropy of each of the two
    rows of the final ``(2, 4)`` activations against the rows of ``y``, shape ``(2,)``.
    Unlike the example, the attention output is ``V softmax(Q^T K)^T`` (one column per
    token; the example multiplies the other way round, valid only as the matrices are
    square), the layer norms normalize each token (the example broadcasts its means along
    the wrong axis), and ``b1`` is one bias per feature.

    Examples
    --------
    >>> task = TASKS["Encoder"]
    >>> jax.eval_shape(task.function, *task.inputs()).shape
    (2,)
    """
    z1 = _encoder_block(x, WQ1, WK1, WV1, W1, b1[:, None], gamma0, beta0)
    z2 = _encoder_block(z1, WQ2, WK2, WV2, W2, b2, gamma1, beta1)
    return _softmax_cross_entropy(z2, y)


def _encoder_inputs(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    logits = rng.standard_normal((2, 4))
    labels = np.exp(logits) / np.sum(np.exp(logits), axis=-1, keepdims=True)
    square = [rng.standard_normal((4, 4)) / 2.0 for _ in range(7)]  # 6 attention, W1
    return (
        rng.standard_normal((4, 4)),
        labels,
        *square,
        rng.standard_normal((2, 4)) / 2.0,
        0.1 * rng.standard_normal(4),
        0.1 * rng.standard_normal((2, 1)),
        _uniform(rng, 0.8, 1.2),
        _uniform(rng, -0.1, 0.1),
        _uniform(rng, 0.8, 1.2),
        _uniform(rng, -0.1, 0.1),
    )


# ---------------------------------------------------------------------------------------
# Randomly generated programs (Graphax example randoms.py), transcribed.


def _contract(x: Any, y: Any, x_axis: int, y_axis: int) -> Any:
    """Contract axis ``x_axis`` of ``x`` with axis ``y_axis`` of ``y`` (a dot_general)."""
    return lax.dot_general(x, y, (((x_axis,), (y_axis,)), ((), ())))


def random_f(a: Any, b: Any, c: Any, d: Any) -> tuple:
    """The randomly generated program ``f`` of the Graphax example ``randoms.py``.

    Four array inputs, ``a`` ``(4,)``, ``b`` ``(2, 3)``, ``c`` ``(4, 4)``, ``d``
    ``(4, 1)`` (AlphaGrad's shapes; the version with four inputs), five outputs of shapes
    ``(1, 4)``, ``(1,)``, ``(2,)``, ``()``, ``(4, 4)``, through 78 jaxpr equations: powers,
    contractions, trigonometric and hyperbolic functions, reductions (sum, min, max), a
    slice and a ``stop_gradient``. Its definition is the program, transcribed operation for
    operation (names and grouping are ours). ``arccos`` needs its argument in [-1, 1]
    and the square roots nonnegative ``a`` and ``c``: see the task's sampler.

    Examples
    --------
    >>> task = TASKS["f"]
    >>> [o.shape for o in jax.eval_shape(task.function, *task.inputs())]
    [(1, 4), (1,), (2,), (), (4, 4)]
    """
    c3 = c**3
    dc = _contract(d, c3, 0, 0)  # (1, 4)
    arc = jnp.arccos(_contract(c3, dc, 0, 1))  # (4, 1)
    dc2 = dc**2
    ad = _contract(a, dc2, 0, 1)  # (1,)
    ad_11 = ad.reshape(1, 1)
    root_a = jnp.sqrt(a)
    root_a_col = root_a.reshape(4, 1)
    outer = _contract(arc, dc2, 1, 0)  # (4, 4)
    shifted = arc + ad_11 - ad_11
    cos_ad = jnp.cos(ad)
    cos_ad_11 = cos_ad.reshape(1, 1)
    spread = jnp.arcsinh(root_a_col + outer)
    angle = jnp.arctan(shifted + cos_ad_11)
    quartic_a = jnp.sqrt(root_a)
    mix = _contract(quartic_a, spread, 0, 1)  # (4,)
    exp_term = jnp.exp(cos_ad_11 - jnp.square(angle))
    bt = jnp.transpose(b, (0, 1))
    col_sum = jnp.sum(-bt, axis=0)  # (3,)
    cosh_t = jnp.transpose(jnp.cosh(jnp.tanh(bt)), (1, 0))  # (3, 2)
    gap = col_sum.reshape(3, 1) - cosh_t
    cos_mix = jnp.squeeze(jnp.cos(mix))  # (4,)
    ratio_max = jnp.amax(jnp.sum(cos_ad, axis=0) / gap, axis=1)  # (3,)
    sinh_block = jnp.sinh(cos_mix.reshape(4, 1) * (outer + root_a_col))
    sq = cos_mix**2
    corner = lax.stop_gradient(lax.slice(sinh_block, (3, 3), (4, 4)))  # (1, 1)
    gate = jax.nn.sigmoid(jnp.arcsinh(jnp.sum(sq, axis=0) + ratio_max))  # (3,)
    weighted = _contract(cos_mix, exp_term, 0, 0)  # (1,)
    pair = _contract(angle, shifted, 1, 1) * _contract(mix, quartic_a, 0, 0)  # (4, 4)
    gram = _contract(cosh_t, gap, 0, 0) - _contract(col_sum, gate, 0, 0)  # (2, 2)
    cosh_sq = jnp.cosh(jnp.sqrt(sq))
    atan_pair = jnp.arctan(cosh_sq.reshape(4, 1) + pair)
    out_min = jnp.amin(jnp.sum(atan_pair, axis=0), axis=0) - jnp.sqrt(
        jnp.abs(_contract(weighted, corner, 0, 1))
    )
    sin_neg = jnp.sin(-sq)
    logits = _contract(sin_neg.reshape(4, 1) - jnp.sqrt(c), atan_pair, 0, 0)
    out_last = _contract(jax.nn.sigmoid(logits), mix.reshape(4, 1) + c, 0, 0)
    return (
        dc / sq.reshape(1, 4),
        out_min,
        jnp.sum(gram, axis=1),
        _contract(jnp.square(cosh_sq), sin_neg, 0, 0),
        out_last,
    )


def _f_inputs(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    return (
        _uniform(rng, 0.1, 1.0, (4,)),
        _uniform(rng, -1.0, 1.0, (2, 3)),
        _uniform(rng, 0.1, 0.6, (4, 4)),  # keeps the arccos argument inside [-1, 1]
        _uniform(rng, 0.1, 1.0, (4, 1)),
    )


G_OPERATIONS: dict[str, Callable[..., Any]] = {
    "add": jnp.add,
    "sub": jnp.subtract,
    "mul": jnp.multiply,
    "div": jnp.divide,
    "pow": jnp.power,
    "neg": jnp.negative,
    "square": jnp.square,
    "exp": jnp.exp,
    "log": jnp.log,
    "sin": jnp.sin,
    "cos": jnp.cos,
    "tan": jnp.tan,
    "sinh": jnp.sinh,
    "asin": jnp.arcsin,
    "atan": jnp.arctan,
    "atan2": jnp.arctan2,
    "asinh": jnp.arcsinh,
    "atanh": jnp.arctanh,
}

G_PROGRAM: tuple[tuple[str, tuple[int, ...]], ...] = tuple(
    (name, tuple(int(i) for i in operands.split()))
    for name, operands in [
        ("atan2", "15 3"), ("pow", "15 14"), ("atan2", "13 17"), ("pow", "17 5"),  # 17-20
        ("sub", "9 8"), ("atan", "10"), ("mul", "21 0"), ("sub", "22 18"),  # 21-24
        ("pow", "24 11"), ("add", "21 12"), ("exp", "2"), ("add", "21 26"),  # 25-28
        ("pow", "16 17"), ("sin", "3"), ("div", "2 23"), ("atan2", "24 26"),  # 29-32
        ("sub", "29 25"), ("atan", "33"), ("mul", "7 27"), ("tan", "13"),  # 33-36
        ("add", "27 19"), ("div", "7 6"), ("sub", "25 34"), ("sub", "29 6"),  # 37-40
        ("pow", "35 4"), ("cos", "0"), ("sub", "40 19"), ("div", "41 7"),  # 41-44
        ("sub", "40 8"), ("atan2", "16 43"), ("div", "8 30"), ("pow", "37 36"),  # 45-48
        ("pow", "47 44"), ("atan2", "45 40"), ("atan2", "44 13"), ("div", "4 34"),  # 49-52
        ("atan2", "41 1"), ("atan2", "25 53"), ("add", "12 51"), ("pow", "3 48"),  # 53-56
        ("sub", "24 32"), ("atanh", "48"), ("atanh", "54"), ("atan2", "2 26"),  # 57-60
        ("sub", "52 18"), ("cos", "38"), ("div", "8 32"), ("atan2", "42 46"),  # 61-64
        ("sinh", "36"), ("sub", "61 50"), ("pow", "13 39"), ("pow", "37 26"),  # 65-68
        ("sub", "68 43"), ("log", "65"), ("pow", "23 58"), ("atan2", "50 69"),  # 69-72
        ("div", "20 72"), ("mul", "41 56"), ("mul", "39 33"), ("mul", "61 15"),  # 73-76
        ("pow", "66 64"), ("atan2", "53 25"), ("sub", "59 60"), ("atan2", "73 41"),  # 77-80
        ("mul", "74 46"), ("square", "5"), ("atan2", "28 62"), ("atan2", "39 9"),  # 81-84
        ("mul", "4 12"), ("div", "57 56"), ("atan2", "61 63"), ("asinh", "14"),  # 85-88
        ("pow", "86 83"), ("asin", "66"), ("sub", "70 79"), ("atan2", "37 65"),  # 89-92
        ("mul", "67 77"), ("pow", "87 55"), ("square", "49"), ("div", "92 94"),  # 93-96
        ("add", "15 95"), ("div", "91 76"), ("atanh", "46"), ("mul", "75 45"),  # 97-100
        ("div", "100 28"), ("add", "90 29"), ("atan2", "80 84"), ("sub", "20 91"),  # 101-104
        ("add", "82 90"), ("div", "102 103"), ("pow", "75 42"), ("mul", "68 62"),  # 105-108
        ("div", "102 1"), ("pow", "98 101"), ("neg", "100"), ("div", "31 89"),  # 109-112
        ("div", "105 108"), ("sub", "22 70"), ("mul", "106 44"), ("sub", "107 81"),  # 113-116
        ("pow", "58 115"), ("sub", "78 108"), ("tan", "87"), ("pow", "87 48"),  # 117-120
        ("add", "105 38"),  # 121
    ]
)
"""The operations of ``g``, one value each: value ``17 + i`` is ``G_PROGRAM[i]`` applied to
the values it names (0-14: the inputs, 15 and 16: the constant 1)."""

G_OUTPUTS = (121, 71, 85, 88, 93, 96, 97, 99, 104, 109, 110, 111, 112, 113, 114, 116, 117, 118, 119, 120)
"""The values ``g`` returns, in order."""


def random_g(*xs: Any) -> tuple:
    """The randomly generated program ``g`` of the Graphax example ``randoms.py``.

    Fifteen scalar inputs, twenty scalar outputs, through the 105 scalar operations of
    :data:`G_PROGRAM` (arithmetic, powers, trigonometric, hyperbolic and inverse
    functions), evaluated in order. AlphaGrad counts it at inputs 0.15, where
    ``arctanh`` of a value above 1 makes some outputs NaN; the task's sampler draws from a
    neighbourhood of a point where every output and partial is finite.

    Examples
    --------
    >>> len(G_PROGRAM), len(G_OUTPUTS)
    (105, 20)
    >>> [o.shape for o in jax.eval_shape(random_g, *TASKS["g"].inputs())][:3]
    [(), (), ()]
    """
    if len(xs) != 15:
        raise TypeError(f"g takes 15 inputs, got {len(xs)}")
    one = jnp.ones((), dtype=jnp.result_type(xs[0]))
    values = [*xs, one, one]
    for name, operands in G_PROGRAM:
        values.append(G_OPERATIONS[name](*(values[i] for i in operands)))
    return tuple(values[i] for i in G_OUTPUTS)


G_CENTER = (1.5, -2.6, -4.7, 0.7, 0.7, -2.1, -3.0, 0.2, 2.2, 4.0, 6.8, 0.7, 3.9, 1.2, -0.1)
"""A point where every value of ``g`` and every partial derivative is finite, with margin.

Found by a seeded random hill-climb on the number of non-finite values and Jacobian entries
(no point of [-1, 1]^15 qualifies: ``arctanh``, ``arcsin`` and powers of negative bases
constrain most inputs); every point within 0.03 of it, in 500 draws, is finite too."""


def _g_inputs(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(x + rng.uniform(-0.02, 0.02)) for x in G_CENTER)


# ---------------------------------------------------------------------------------------
# The registry.


def _shapes(*shapes: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    return tuple(shapes)


def _scalars(count: int) -> tuple[tuple[int, ...], ...]:
    return ((),) * count


TASKS: dict[str, Task] = {
    task.name: task
    for task in [
        Task(
            "RoeFlux_1d",
            roe_flux_1d,
            _roe_1d_inputs,
            GRAPHAX + "roe.py",
            "Roe's approximate Riemann flux of the 1-D Euler equations",
            _scalars(6),
            _scalars(3),
        ),
        Task(
            "RoeFlux_3d",
            roe_flux_3d,
            _roe_3d_inputs,
            GRAPHAX + "roe.py",
            "Roe's approximate Riemann flux of the 3-D Euler equations (x face)",
            _shapes((1,), (3,), (1,), (1,), (3,), (1,)),
            _shapes((1,), (3,), (1,)),
        ),
        Task(
            "RobotArm_6DOF",
            robot_arm_6dof,
            _robot_inputs,
            GRAPHAX + "differential_kinematics.py",
            "forward kinematics of a six-axis arm: position and Tait-Bryan angles",
            _scalars(6),
            _scalars(6),
        ),
        Task(
            "HumanHeartDipole",
            human_heart_dipole,
            _dipole_inputs,
            GRAPHAX + "minpack.py",
            "MINPACK-2 human heart dipole residuals",
            _scalars(8),
            _scalars(8),
        ),
        Task(
            "PropaneCombustion",
            propane_combustion,
            _propane_inputs,
            GRAPHAX + "minpack.py",
            "MINPACK-2 propane combustion residuals, full formulation",
            _scalars(11),
            _scalars(11),
        ),
        Task(
            "BlackScholes_Jacobian",
            black_scholes_jacobian,
            _black_scholes_inputs,
            GRAPHAX + "economics.py",
            "first-order Black-Scholes greeks by reverse mode (Jacobian: second order)",
            _scalars(5),
            _scalars(5),
        ),
        Task(
            "f",
            random_f,
            _f_inputs,
            GRAPHAX + "randoms.py",
            "randomly generated array program with contractions and reductions",
            _shapes((4,), (2, 3), (4, 4), (4, 1)),
            _shapes((1, 4), (1,), (2,), (), (4, 4)),
        ),
        Task(
            "g",
            random_g,
            _g_inputs,
            GRAPHAX + "randoms.py",
            "randomly generated scalar program, 15 inputs and 20 outputs",
            _scalars(15),
            _scalars(20),
        ),
        Task(
            "Perceptron",
            perceptron,
            _perceptron_inputs,
            GRAPHAX + "deep_learning.py",
            "two-layer tanh perceptron with layer norm, softmax cross-entropy loss",
            _shapes((4,), (4,), (8, 4), (8,), (4, 8), (4,), (), ()),
            _shapes(()),
        ),
        Task(
            "Encoder",
            encoder,
            _encoder_inputs,
            GRAPHAX + "deep_learning.py",
            "two-block transformer encoder, softmax cross-entropy loss per row",
            _shapes((4, 4), (2, 4), *[(4, 4)] * 7, (2, 4), (4,), (2, 1), (), (), (), ()),
            _shapes((2,)),
        ),
    ]
}
"""The ten tasks by name, in the order of AlphaGrad's table (scalar tasks first)."""


def input_count(task: Task) -> int:
    """The number of scalar inputs of ``task`` (the Jacobian's total width).

    Examples
    --------
    >>> input_count(TASKS["Encoder"])
    154
    """
    return sum(int(np.prod(shape)) for shape in task.input_shapes)


def output_count(task: Task) -> int:
    """The number of scalar outputs of ``task`` (the Jacobian's total height).

    Examples
    --------
    >>> output_count(TASKS["f"])
    24
    """
    return sum(int(np.prod(shape)) for shape in task.output_shapes)


def all_argnums(task: Task) -> tuple[int, ...]:
    """``argnums`` selecting every positional input of ``task``.

    Examples
    --------
    >>> all_argnums(TASKS["RoeFlux_1d"])
    (0, 1, 2, 3, 4, 5)
    """
    return tuple(range(len(task.input_shapes)))


def check_shapes(task: Task, args: Sequence[Any], output: Any) -> None:
    """Raise ValueError unless ``args`` and ``output`` have the task's documented shapes.

    Examples
    --------
    >>> task = TASKS["Encoder"]
    >>> xs = task.inputs()
    >>> check_shapes(task, xs, jax.eval_shape(task.function, *xs))
    """
    got_in = tuple(tuple(jnp.shape(x)) for x in args)
    if got_in != task.input_shapes:
        raise ValueError(f"{task.name}: input shapes {got_in}, documented {task.input_shapes}")
    got_out = tuple(tuple(jnp.shape(y)) for y in jax.tree.leaves(output))
    if got_out != task.output_shapes:
        raise ValueError(
            f"{task.name}: output shapes {got_out}, documented {task.output_shapes}"
        )
