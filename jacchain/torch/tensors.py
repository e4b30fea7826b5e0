"""Checks on PyTorch tensors shared by the front end's two forms."""

from __future__ import annotations

from typing import Any

__all__ = ["concrete", "all_finite", "tracked"]


def tracked(tensor: Any) -> bool:
    """Whether autograd (or a torch.func transform) will differentiate through ``tensor``.

    Examples
    --------
    >>> import torch
    >>> tracked(torch.ones(2)), tracked(torch.ones(2, requires_grad=True))
    (False, True)
    """
    import torch

    return torch.is_grad_enabled() and (
        tensor.requires_grad or torch._C._functorch.is_functorch_wrapped_tensor(tensor)
    )


def concrete(tensor: Any) -> bool:
    """Whether ``tensor`` holds values that can be read (not under vmap, grad or compile).

    Examples
    --------
    >>> import torch
    >>> concrete(torch.ones(2)), concrete(torch.ones(2, device="meta"))
    (True, False)
    """
    import torch
    from torch._subclasses.fake_tensor import is_fake

    return not (
        torch.compiler.is_compiling()
        or torch._C._functorch.is_functorch_wrapped_tensor(tensor)
        or is_fake(tensor)
        or tensor.device.type == "meta"
    )


def all_finite(tensor: Any) -> bool:
    """No NaN or inf in ``tensor``; its sum first (a NaN or inf poisons it, and is cheaper).

    Examples
    --------
    >>> import torch
    >>> all_finite(torch.ones(2)), all_finite(torch.tensor([1.0, float("nan")]))
    (True, False)
    """
    import torch

    return bool(torch.isfinite(tensor.sum())) or bool(torch.isfinite(tensor).all())
