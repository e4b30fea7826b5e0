"""The PyTorch front end (extra ``torch``): Jacobians of PyTorch programs along the cheapest
elimination.

:func:`jacobian` has ``torch.func.jacrev``'s semantics (any function or ``nn.Module``,
``argnums``, pytrees, ``has_aux``) and composes with ``torch.func.vmap``, ``jacrev``,
``jacfwd``, ``torch.compile`` and autograd; :func:`graph` shows the structured
computational graph a program becomes. The earlier form ``jacobian(model, x)`` (a
sequential model planned as a chain) keeps working. PyTorch is imported by the functions
here when they run, never at ``import jacchain``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .function import TorchJacobian
from .sequence import ELEMENTWISE_MODULES, layer_kind, plan
from .sequence import jacobian as _sequence_jacobian

__all__ = ["jacobian", "graph", "TorchJacobian", "plan", "layer_kind", "ELEMENTWISE_MODULES"]


def _argnums_like(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, tuple) and all(isinstance(a, int) and not isinstance(a, bool) for a in value)
    )


def jacobian(
    func: Callable[..., Any] | Sequence[Callable[[Any], Any]],
    argnums: Any = 0,
    has_aux: Any = False,
    *,
    chunk_size: int | None = None,
    method: str = "auto",
    order: Sequence[int] | None = None,
    time_limit: float | None = None,
    seed: int = 0,
    return_plan: bool = False,
    memory_limit: int | None = None,
    client: Any = None,
    plan: Any = None,
) -> Any:
    """The Jacobian of a PyTorch program, computed by the cheapest vertex elimination found.

    Parameters
    ----------
    func : callable or nn.Module
        Any function of pytrees of tensors returning a pytree of floating-point tensors;
        an ``nn.Module``'s parameters and buffers are inputs of the traced program (the
        Jacobian stays differentiable in them). Traced on shapes alone: control flow must
        not depend on values.
    argnums : int or tuple of int
        The positional arguments to differentiate, as in ``torch.func.jacrev``.
    has_aux : bool
        ``func`` returns ``(output, aux)``; the result is then ``(jacobian, aux)``.
    chunk_size : int, optional
        The most directions one batched sweep of a matrix-free operation (a convolution,
        pooling) takes, which bounds its memory, as ``torch.func.jacrev``'s ``chunk_size``.
        With a Dask Client (``client=``, or one active), the Jacobian's columns are instead
        computed ``chunk_size`` at a time as tasks on the cluster's workers (the function
        sent once to each) and returned as lazy dask arrays in the same structure (aux
        computed here).
    client : distributed.Client, optional
        The Dask cluster for ``chunk_size``'s chunks (default: the active Client, if any).
    method : str
        ``"auto"`` (the cheapest of forward, reverse, Markowitz and a short search seeded
        with them: milliseconds on small programs, at most a second), ``"forward"``
        (eliminate in program order: ``torch.func.jacfwd``'s products), ``"reverse"``
        (``torch.func.jacrev``'s), ``"markowitz"``, ``"search"`` (a longer anytime search,
        never worse than the three).
    order : sequence of int, optional
        Eliminate in this order instead: every intermediate vertex of :func:`graph` once.
    time_limit, seed
        The search's budget in seconds (by default up to 1 s) and random seed.
    return_plan, memory_limit
        For the earlier form ``jacobian(model, x)`` only (see below).
    plan : ProgramPlan, GraphPlan or Plan, optional
        Follow this plan instead of planning, for example one saved with ``.to_json()``
        and read back: a :class:`~jacchain.programs.ProgramPlan` (what ``.plan(*args)``
        returns; read it with ``ProgramPlan.from_json``) or a :class:`jacchain.GraphPlan`
        of the program's :func:`graph` with an elimination order; for the earlier form, a
        chain :class:`jacchain.Plan`. At each new input signature the plan is checked
        against the program's graph (every edge's structure and shapes; a ProgramPlan's
        order is replayed to the costs it states) or the layers' dims and kinds, and a
        :class:`~jacchain.PlanFormatError` names the first difference; nothing is planned.
        Not with ``method``, ``order``, ``time_limit``, ``seed`` or ``memory_limit`` (a
        MethodError), nor on a Dask cluster.

    Returns
    -------
    callable
        ``(*args) -> jacobian`` with ``torch.func.jacrev``'s structure: for each output
        leaf, a tensor of shape ``output.shape + input.shape`` per differentiated input
        leaf, arranged like the differentiated argument (a tuple of them for a tuple
        ``argnums``). ``.plan(*args)`` returns the plan (costs of every order, the chosen
        order) without running it; it is made once per input structure, shape, dtype and
        device (``.plans`` holds them), and each call replays the planned operations as one
        traced graph.

    Notes
    -----
    The earlier form ``jacobian(model, x, method="auto", return_plan=False,
    memory_limit=None)``, with ``x`` a 1-D tensor in place of ``argnums``, plans a sequential
    model (``nn.Sequential`` or a list of modules and functions) as a chain of layers and
    returns the ``(n_out, n_in)`` Jacobian at once (see :func:`jacchain.torch.sequence.jacobian`).

    Examples
    --------
    >>> import torch
    >>> def f(params, x):
    ...     return torch.tanh(params["W"] @ x + params["b"])
    >>> params = {"W": torch.ones(2, 3), "b": torch.zeros(2)}
    >>> J = jacobian(f)(params, torch.ones(3))
    >>> J["W"].shape, J["b"].shape
    (torch.Size([2, 2, 3]), torch.Size([2, 2]))
    >>> expected = torch.func.jacrev(f)(params, torch.ones(3))
    >>> all(torch.allclose(J[k], expected[k]) for k in J)
    True

    A plan saved as JSON is followed by a new Jacobian function of the same program,
    without planning (and refused for other shapes):

    >>> from jacchain.programs import ProgramPlan
    >>> saved = jacobian(f).plan(params, torch.ones(3)).to_json()
    >>> again = jacobian(f, plan=ProgramPlan.from_json(saved))(params, torch.ones(3))
    >>> all(torch.equal(again[k], J[k]) for k in J)
    True
    """
    if not _argnums_like(argnums):  # the earlier form jacobian(model, x[, method])
        if has_aux is not False:  # its third positional argument is the method
            method = has_aux
        return _sequence_jacobian(func, argnums, method, return_plan, memory_limit, plan=plan)
    return TorchJacobian(func, argnums, has_aux, chunk_size, method, order, time_limit, seed, client,
                         plan)


def graph(func: Callable[..., Any], *args: Any, argnums: Any = 0) -> Any:
    """The computational graph of ``func(*args)`` with respect to the ``argnums`` arguments.

    A ``networkx.DiGraph`` in jacchain's graph conventions: one node per tensor on a path
    from a differentiated input to an output (``size``, ``shape``, ``role``, ``primitive``:
    the ATen operation), one edge per partial (``kind``, ``structure``, ``partial``); pass
    it to :func:`jacchain.plan_graph`.

    Examples
    --------
    >>> import torch
    >>> G = graph(lambda x: torch.sum(torch.sin(x) * x), torch.ones(3))
    >>> sorted(data["primitive"] for _, data in G.nodes(data=True) if data["role"] != "input")
    ['mul', 'sin', 'sum']
    """
    return TorchJacobian(func, argnums).graph(*args)
