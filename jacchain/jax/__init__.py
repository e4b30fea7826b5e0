"""The JAX front end (extra ``jax``): Jacobians of JAX programs along the cheapest elimination.

:func:`jacobian` has ``jax.jacobian``'s semantics (pytrees, ``argnums``, ``has_aux``) and
composes with ``jax.jit``, ``jax.vmap`` and ``jax.grad``; :func:`graph` shows the
structured computational graph a program becomes. JAX is imported by the functions here
when they run, never at ``import jacchain``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..programs.elimination import METHODS, ProgramPlan
from .function import ProgramJacobian
from .sequence import JacobianFunction, layer_kind

__all__ = ["jacobian", "graph", "JacobianFunction", "ProgramJacobian", "ProgramPlan", "layer_kind",
           "METHODS"]


def jacobian(
    fun: Callable[..., Any] | Sequence[Callable[[Any], Any]],
    argnums: Any = 0,
    has_aux: bool = False,
    *,
    method: str = "auto",
    order: Sequence[int] | None = None,
    unit_partials: str = "free",
    time_limit: float | None = None,
    seed: int = 0,
    calibrate: bool = False,
    memory_limit: int | None = None,
    progress: bool | None = None,
    chunk_size: int | None = None,
    client: Any = None,
    plan: Any = None,
) -> Any:
    """The Jacobian of a JAX program, computed by the cheapest vertex elimination found.

    Parameters
    ----------
    fun : callable, or a sequence of callables
        Any JAX-traceable function of pytrees of arrays (scalars included), returning a
        pytree of arrays. A list or tuple of layers (each mapping a 1-D array to a 1-D
        array) is their composition, planned as a chain (the earlier form; then the second
        positional argument may be the method).
    argnums : int or tuple of int
        The positional arguments to differentiate, as in ``jax.jacobian``.
    has_aux : bool
        ``fun`` returns ``(output, aux)``; the result is then ``(jacobian, aux)``.
    method : str
        ``"auto"`` (the cheapest of forward, reverse, Markowitz and a short search seeded
        with them: milliseconds on small programs, at most a second), ``"forward"``
        (eliminate in program order: forward mode), ``"reverse"`` (reverse mode),
        ``"markowitz"`` (greedy), ``"search"`` (a longer anytime search seeded with those three,
        never worse than them; run once per new input shape, as every plan).
    order : sequence of int, optional
        Eliminate in this order instead: every intermediate vertex of :func:`graph` once
        (for example an order exported from Graphax or AlphaGrad).
    unit_partials : str
        ``"free"`` (default) or ``"counted"``: whether multiplying by a +-1 partial costs
        nothing or counts, when choosing and reporting orders (``"counted"`` is
        AlphaGrad's convention: multiplications only, sums of paths free).
    time_limit, seed
        The search's budget in seconds (by default up to 1 s, stopping earlier when it
        stops improving) and random seed (``method="search"``).
    calibrate, memory_limit, progress
        For the sequence form only (see :func:`jacchain.jax.sequence.jacobian`; ``progress``
        shows a bar while the layers are calibrated).
    chunk_size : int, optional
        The most directions one batched sweep through a matrix-free partial (a loop, a
        primitive without a rule) takes, by ``jax.lax.map`` in batches instead of one
        ``jax.vmap``: bounds the memory of those sweeps. With a Dask Client (``client=``,
        or one active), the Jacobian's columns are instead computed ``chunk_size`` at a
        time as tasks on the cluster's workers (the function sent once to each) and
        returned as lazy dask arrays in the same structure (aux computed here).
    client : distributed.Client, optional
        The Dask cluster for ``chunk_size``'s chunks (default: the active Client, if any).
    plan : ProgramPlan, GraphPlan or Plan, optional
        Follow this plan instead of planning, for example one saved with ``.to_json()``
        and read back: a :class:`ProgramPlan` (what ``.plan(*args)`` returns; read it with
        ``ProgramPlan.from_json``) or a :class:`jacchain.GraphPlan` of the program's
        :func:`graph` with an elimination order; for the sequence form, a chain
        :class:`jacchain.Plan`. At each new input signature the plan is checked against
        the program's graph (every edge's structure and shapes; a ProgramPlan's order is
        replayed to the costs it states) or the layers' dims and kinds, and a
        :class:`~jacchain.PlanFormatError` names the first difference; nothing is planned.
        Not with ``method``, ``order``, ``unit_partials``, ``time_limit``, ``seed``,
        ``calibrate`` or ``memory_limit`` (a MethodError), nor on a Dask cluster.

    Returns
    -------
    callable
        ``(*args) -> jacobian`` with exactly ``jax.jacobian``'s structure and shapes (each
        output leaf's shape followed by each input leaf's shape). It composes with
        ``jax.jit``, ``jax.vmap`` and ``jax.grad``; ``.plan(*args)`` returns the plan
        (:class:`ProgramPlan`: costs of every order in both conventions, the chosen order)
        without running it; ``.plans`` holds the plans per input signature.

    Notes
    -----
    The program is traced with ``jax.make_jaxpr``; call primitives are inlined, constants
    folded, and every equation on a path from a differentiated input to an output becomes
    a vertex whose edges carry structured partials (:mod:`jacchain.jax.rules`). The chosen
    eliminations run as JAX operations in one ``jax.jit``-compiled function; the plan is
    cached per input structure, shape and dtype.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> def f(params, x):
    ...     return jnp.tanh(params["W"] @ x + params["b"])
    >>> params = {"W": jnp.ones((2, 3)), "b": jnp.zeros(2)}
    >>> J = jacobian(f)(params, jnp.ones(3))
    >>> J["W"].shape, J["b"].shape
    ((2, 2, 3), (2, 2))
    >>> jax.tree.all(jax.tree.map(jnp.allclose, J, jax.jacrev(f)(params, jnp.ones(3))))
    True

    A plan saved as JSON is followed by a new Jacobian function of the same program,
    without planning (and refused for other shapes):

    >>> saved = jacobian(f).plan(params, jnp.ones(3)).to_json()
    >>> again = jacobian(f, plan=ProgramPlan.from_json(saved))
    >>> jax.tree.all(jax.tree.map(jnp.allclose, again(params, jnp.ones(3)), J))
    True
    """
    if not callable(fun) and isinstance(fun, (list, tuple)):
        if not (isinstance(argnums, int) and not isinstance(argnums, bool) and argnums == 0):
            method = argnums  # the earlier form jacobian(layers, method)
        return JacobianFunction(fun, method, calibrate, memory_limit, progress, plan)
    return ProgramJacobian(fun, argnums, has_aux, method, order, unit_partials, time_limit, seed,
                           chunk_size, client, plan)


def graph(fun: Callable[..., Any], *args: Any, argnums: Any = 0) -> Any:
    """The computational graph of ``fun(*args)`` with respect to the ``argnums`` arguments.

    A ``networkx.DiGraph`` in jacchain's graph conventions: one node per array on a path
    from a differentiated input to an output (``size``, ``shape``, ``role``,
    ``primitive``), one edge per partial (``kind``, ``structure``, ``partial``); pass it to
    :func:`jacchain.plan_graph`, which costs each edge by its nearest kind.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> G = graph(lambda x: jnp.sum(jnp.sin(x) * x), jnp.ones(3))
    >>> sorted(data["primitive"] for _, data in G.nodes(data=True) if data["role"] != "input")
    ['mul', 'reduce_sum', 'sin']
    """
    return ProgramJacobian(fun, argnums).graph(*args)
