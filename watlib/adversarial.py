"""Divergences between class distributions, the adversarial direction of Algorithm 1, and
the VAT / WAT regularizers of Eq. 6.

The regularizer of virtual adversarial training :cite:`miyato2018vat` and of Wasserstein
adversarial training :cite:`damodaran2020wat` compares the prediction at a point ``x``,
held fixed, with the prediction at the most damaging nearby point ``x + r_adv``:

.. math::
    \\mathcal{R}(x) = D\\big(\\hat p_\\theta(x),\\ p_\\theta(x + r^a)\\big),
    \\qquad r^a = \\operatorname*{argmax}_{\\|r\\|_2 \\le \\varepsilon}
    D\\big(\\hat p_\\theta(x),\\ p_\\theta(x + r)\\big).

``D`` is a divergence between histograms: :func:`kl`, :func:`l2`, :func:`tv` (VAT), or the
entropic optimal transport loss of :func:`wasserstein` (WAT). Every function that takes a
``divergence`` accepts one of the names ``"kl"``, ``"l2"``, ``"tv"`` or any callable
``(p_hat, p) -> Tensor (B,)``.

The adversarial passes leave the model as they found it: no gradient on its parameters, the
same train / eval mode in every submodule, and BatchNorm running statistics untouched
(:func:`frozen_batchnorm`). Bad input is refused before any pass, with a message naming the
argument, the rule and the value: among others an input whose dtype differs from the
model's parameters or whose feature size differs from the model's first layer.

Defaults: ``xi``, ``eps`` and ``n_power`` are the paper's (:mod:`watlib.paper`); the OT
solves of WAT take one :class:`watlib.ot_settings.OTSettings` (``reg`` and the solver
settings), the library's ``OTSettings()`` by default.
"""

from __future__ import annotations

import contextlib
import math

import torch
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

from . import paper
from ._checks import check_bool, check_int, check_model_dtype, check_real, check_tensor, describe, first_index, histogram_sum_tol
from .ot import ot_loss
from .ot_settings import OTSettings, check_ot_settings

__all__ = [
    "kl",
    "l2",
    "tv",
    "wasserstein",
    "adversarial_perturbation",
    "vat_loss",
    "wat_loss",
    "frozen_batchnorm",
    "divergence_derivatives",
]



# ----------------------------------------------------------------------------- validation
def _check_histograms(p_hat, p):
    """Raise unless ``p_hat`` and ``p`` are two (B, K) floating tensors of histograms."""
    for name, t in (("p_hat", p_hat), ("p", p)):
        check_tensor(name, t, floating=True)
        if t.dim() != 2:
            raise ValueError(f"{name} must have shape (B, K), got shape {tuple(t.shape)}")
    if p_hat.shape != p.shape:
        raise ValueError(
            f"p_hat and p must have the same shape (B, K), got {tuple(p_hat.shape)} and {tuple(p.shape)}"
        )
    with torch.no_grad():
        for name, t in (("p_hat", p_hat), ("p", p)):
            if not bool((t >= 0).all()):
                raise ValueError(f"{name} must be non-negative and not NaN, got minimum {t.min().item()}")
            tol = histogram_sum_tol(t.dtype, t.shape[1])
            err = (t.sum(dim=1) - 1).abs().max().item()
            if err > tol:
                raise ValueError(f"each row of {name} must sum to 1 within {tol:g}, got an error of {err:g}")


def _check_search_params(xi, eps, n_power):
    """Algorithm 1's settings as plain Python numbers."""
    return check_real("xi", xi, gt=0), check_real("eps", eps, ge=0), check_int("n_power", n_power, ge=1)


def _first_layer(model):
    """The first ``nn.Linear`` or ``nn.Conv*`` of ``model`` (``named_modules`` order) whose
    input size is known, as (name, module); None when there is none."""
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Linear) and m.in_features > 0:
            return name, m
        if isinstance(m, _ConvNd) and m.in_channels > 0:
            return name, m
    return None


def _check_model_input(model, x):
    """Everything about ``model`` and ``x`` that can be checked before a pass.

    The type, rank and dtype of x; parameters in float32 or higher; x's dtype equal to the
    parameters' (any dtype under autocast, :func:`watlib._checks.check_model_dtype`); x's
    feature size equal to the input size of the model's first ``nn.Linear`` (its last
    dimension, or all non-batch dimensions flattened) or ``nn.Conv*`` (dimension 1, when x
    has the rank that convolution takes). Layers are taken in ``named_modules`` order, which
    is the order of the forward pass for ``nn.Sequential`` models and watlib's models.
    """
    if not callable(model):
        raise TypeError(f"model must be callable (a torch.nn.Module), got {type(model).__name__}")
    check_tensor("x", x, floating=True)
    if x.dim() < 2 or x.shape[0] < 1:
        raise ValueError(f"x must have a batch dimension, shape (B, ...) with B >= 1, got shape {tuple(x.shape)}")
    if not isinstance(model, torch.nn.Module):
        return
    params = [(name, p) for name, p in model.named_parameters() if p.is_floating_point()]
    for pname, param in params:
        if torch.finfo(param.dtype).bits < 32:
            raise TypeError(
                f"model parameter {pname} has dtype {param.dtype}; the direction search needs "
                "float32 or higher (the xi-scaled difference vanishes in half precision): keep the "
                "parameters in float32 and use torch.autocast for mixed precision"
            )
    check_model_dtype(model, x)
    first = _first_layer(model)
    if first is None:
        return
    name, layer = first
    where = f"the model's first layer ({name}: {layer})" if name else f"the model ({layer})"
    if isinstance(layer, torch.nn.Linear):
        expected = layer.in_features
        if expected not in (x.shape[-1], math.prod(x.shape[1:])):
            raise ValueError(
                f"x has shape {tuple(x.shape)}, {x.shape[1]} features per sample, but {where} expects "
                f"in_features = {expected} (as the last dimension of x, or all its non-batch "
                "dimensions flattened)"
            )
    elif x.dim() == len(layer.kernel_size) + 2 and x.shape[1] != layer.in_channels:
        raise ValueError(
            f"x has shape {tuple(x.shape)}, {x.shape[1]} channels, but {where} expects "
            f"in_channels = {layer.in_channels}"
        )


def _check_logits(logits, x, name):
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(logits).__name__}")
    if logits.dim() < 2 or logits.shape[0] != x.shape[0]:
        raise ValueError(
            f"{name} must have shape (B, K) or, for dense predictions, (B, K, *S) with "
            f"B = x.shape[0] = {x.shape[0]}, got shape {tuple(logits.shape)}"
        )
    if not bool(torch.isfinite(logits).all()):
        raise ValueError(f"{name} must be finite, got NaN or inf (check x and the model)")


def _work_dtype(dtype):
    """float32 or higher: the dtype the direction search and the divergences run in."""
    return torch.promote_types(dtype, torch.float32)


# ----------------------------------------------------------------------------- divergences
def _kl(p_hat, p):
    # Entries with p_hat == 0 contribute 0; replacing p by 1 there keeps the gradient finite
    # even where p underflowed to 0 as well (xlogy's gradient would be 0 / 0 there).
    safe_p = torch.where(p_hat > 0, p, torch.ones_like(p))
    return (torch.xlogy(p_hat, p_hat) - torch.xlogy(p_hat, safe_p)).sum(dim=1)


def _l2(p_hat, p):
    return (p_hat - p).pow(2).sum(dim=1)


def _tv(p_hat, p):
    return 0.5 * (p_hat - p).abs().sum(dim=1)


_HISTOGRAM_ARGS = """Parameters
    ----------
    p_hat : torch.Tensor, shape (B, K)
        Reference histograms (the detached prediction); non-negative, rows sum to 1.
    p : torch.Tensor, shape (B, K)
        Compared histograms (the prediction at the perturbed input); same constraints.

    Returns
    -------
    torch.Tensor, shape (B,)
        One value per row, differentiable with respect to both arguments."""


_DOC_PARTS = {
    "{histogram_args}": _HISTOGRAM_ARGS,
    "{miyato}": "Miyato, T., Maeda, S., Ishii, S., Koyama, M. (2018). Virtual Adversarial Training:\n"
    "       A Regularization Method for Supervised and Semi-Supervised Learning. IEEE TPAMI.",
    "{damodaran}": "Damodaran, B. B., Fatras, K., Lobry, S., Flamary, R., Tuia, D., Courty, N. (2019).\n"
    "       Wasserstein Adversarial Regularization for learning with label noise.",
}


def _doc(f):
    """Fill the docstring parts the public functions share (arguments, references)."""
    for key, text in _DOC_PARTS.items():
        f.__doc__ = f.__doc__.replace(key, text)
    return f


@_doc
def kl(p_hat, p):
    r"""Kullback-Leibler divergence between two batches of histograms.

    .. math::
        \mathrm{KL}(\hat p \,\|\, p)_i = \sum_k \hat p_{ik} \log\frac{\hat p_{ik}}{p_{ik}}

    Entries with :math:`\hat p_{ik} = 0` contribute 0 (``torch.xlogy``), and their gradient
    with respect to ``p`` is 0, not NaN. Where :math:`\hat p_{ik} > 0` and
    :math:`p_{ik} = 0` the divergence is :math:`+\infty`.

    {histogram_args}

    References
    ----------
    .. [1] {miyato}

    Examples
    --------
    >>> import torch
    >>> p_hat = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    >>> p = torch.tensor([[0.5, 0.5], [0.5, 0.5]])
    >>> kl(p_hat, p)
    tensor([0.6931, 0.0000])
    """
    _check_histograms(p_hat, p)
    return _kl(p_hat, p)


@_doc
def l2(p_hat, p):
    r"""Squared Euclidean distance between two batches of histograms.

    .. math::
        \ell_2(\hat p, p)_i = \sum_k (\hat p_{ik} - p_{ik})^2

    {histogram_args}

    References
    ----------
    .. [1] {miyato}

    Examples
    --------
    >>> import torch
    >>> l2(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.5, 0.5]]))
    tensor([0.5000])
    """
    _check_histograms(p_hat, p)
    return _l2(p_hat, p)


@_doc
def tv(p_hat, p):
    r"""Total variation distance between two batches of histograms.

    .. math::
        \mathrm{TV}(\hat p, p)_i = \frac{1}{2} \sum_k |\hat p_{ik} - p_{ik}|

    It equals the unregularized optimal transport cost with the 0-1 ground cost
    (Peyre & Cuturi, Remark 2.26), the cost of WAT with an uninformative geometry.

    {histogram_args}

    References
    ----------
    .. [1] Peyre, G., Cuturi, M. (2019). Computational Optimal Transport. Foundations and
       Trends in Machine Learning, 11(5-6), Remark 2.26.
    .. [2] {damodaran}

    Examples
    --------
    >>> import torch
    >>> tv(torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0.5, 0.25, 0.25]]))
    tensor([0.5000])
    """
    _check_histograms(p_hat, p)
    return _tv(p_hat, p)


class _Wasserstein:
    """The callable returned by :func:`wasserstein` (a class so that it prints its settings
    and remembers how its last solve ended)."""

    def __init__(self, C, ot):
        self.C, self.ot = C, ot
        #: :class:`watlib.ot.SinkhornDiagnostics` of the last call (None before the first).
        self.last_diagnostics = None

    def __call__(self, p_hat, p):
        K = self.C.shape[0]
        if p.dim() != 2 or p.shape[1] != K:
            raise ValueError(f"p must have shape (B, {K}) to match C of shape {tuple(self.C.shape)}, got {tuple(p.shape)}")
        C = self.C.to(device=p.device, dtype=p.dtype)
        loss, self.last_diagnostics = ot_loss(p_hat, p, C, return_diagnostics=True, **self.ot.keywords())
        return loss

    def __repr__(self):
        return f"wasserstein(C of shape {tuple(self.C.shape)}, {self.ot!r})"


def _first_bad(C):
    """Index and value of the first non-finite or negative entry of ``C``, or None."""
    bad = ~torch.isfinite(C) | (C < 0)
    if not bool(bad.any()):
        return None
    idx = first_index(bad)
    return idx, C[idx].item()


@_doc
def wasserstein(C, ot=OTSettings()):
    r"""The entropic optimal transport loss of WAT (Eq. 5) as a divergence ``(p_hat, p) -> (B,)``.

    .. math::
        \mathrm{OT}_C^\lambda(\hat p_i, p_i) = \langle T^*_\lambda, C \rangle, \qquad
        T^*_\lambda = \operatorname*{argmin}_{T \in U(\hat p_i, p_i)}
        \langle T, C \rangle - \lambda H(T)

    computed by :func:`watlib.ot.ot_loss` with the settings ``ot``, resolved for ``C``'s size
    now rather than at the first call. ``C`` is moved to the device and dtype of ``p`` at
    each call, so one divergence serves any device. The returned object remembers how its
    last solve ended in ``last_diagnostics`` (:class:`watlib.ot.SinkhornDiagnostics`), and
    warns like :func:`~watlib.ot.ot_loss` when a solve does not converge.

    Parameters
    ----------
    C : torch.Tensor, shape (K, K)
        Ground cost between classes, finite and nonnegative: ``C[i, j]`` is the cost of
        moving mass from class ``i`` to class ``j``.
    ot : watlib.ot_settings.OTSettings
        The regularization :math:`\lambda` and the solver settings (by default the library's:
        the paper's :math:`\lambda = 0.05`, at most :data:`watlib.ot.MAX_ITER` Sinkhorn
        iterations to :data:`watlib.ot.TOL`, unrolled gradients).

    Returns
    -------
    callable
        ``(p_hat, p) -> torch.Tensor`` of shape (B,), for histograms of shape (B, K),
        differentiable with respect to ``p``.

    References
    ----------
    .. [1] {damodaran}
    .. [2] Cuturi, M. (2013). Sinkhorn Distances: Lightspeed Computation of Optimal Transport.
       NeurIPS 26.

    Examples
    --------
    >>> import torch
    >>> C = torch.tensor([[0.0, 5.0, 1.0], [5.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    >>> D = wasserstein(C, OTSettings(reg=0.05))
    >>> p_hat = torch.tensor([[1.0, 0.0, 0.0]])
    >>> to_orange, to_black = torch.tensor([[0.9, 0.1, 0.0]]), torch.tensor([[0.9, 0.0, 0.1]])
    >>> bool(D(p_hat, to_orange) > D(p_hat, to_black))
    True
    >>> D.last_diagnostics.converged
    True
    """
    check_tensor("C", C)
    if C.dim() != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"C must be a square matrix of shape (K, K), got shape {tuple(C.shape)}")
    bad = _first_bad(C)
    if bad is not None:
        raise ValueError(f"C must be finite and nonnegative; found C[{bad[0]}] = {bad[1]}")
    check_ot_settings(ot)
    return _Wasserstein(C, ot.resolved(C.shape[0], C.shape[1]))


_DIVERGENCES = {"kl": _kl, "l2": _l2, "tv": _tv}


def _resolve_divergence(divergence):
    """The function ``(p_hat, p) -> (B,)`` named or given by ``divergence``.

    The names, and the public :func:`kl`, :func:`l2`, :func:`tv`, map to the unchecked
    kernels: inside this module both arguments come out of a softmax, so they are valid
    histograms by construction.
    """
    if isinstance(divergence, str):
        if divergence not in _DIVERGENCES:
            raise ValueError(f"divergence must be one of {sorted(_DIVERGENCES)} or a callable, got {divergence!r}")
        return _DIVERGENCES[divergence]
    if not callable(divergence):
        raise TypeError(
            f"divergence must be one of {sorted(_DIVERGENCES)} or a callable (p_hat, p) -> (B,), "
            f"got {describe(divergence)}"
        )
    return {kl: _kl, l2: _l2, tv: _tv}.get(divergence, divergence)


def _divergence_at(div, p_hat, logits):
    """D(p_hat, softmax(logits)), shape (B,).

    KL is evaluated from ``log_softmax``: a probability that underflowed to 0 at the
    perturbed point would otherwise give log(0) and a NaN gradient. Its gradient with respect
    to the logits is then ``softmax(logits) - p_hat``, finite everywhere.

    Dense predictions ``(B, K, *S)`` (segmentation) get ``D`` at every location, on the
    histograms along dimension 1, averaged over the locations of each sample.
    """
    if p_hat.shape != logits.shape:
        raise ValueError(
            f"the prediction at x + r has shape {tuple(logits.shape)}, the clean one {tuple(p_hat.shape)}; "
            "the model must map inputs of one shape to logits of one shape"
        )
    if div is _kl:
        out = (torch.xlogy(p_hat, p_hat) - p_hat * torch.log_softmax(logits, dim=1)).sum(dim=1)
        return out.flatten(1).mean(dim=1) if out.dim() > 1 else out
    p = torch.softmax(logits, dim=1)
    if p.dim() == 2:
        return _apply_divergence(div, p_hat, p)
    K = p.shape[1]
    rows = _apply_divergence(div, p_hat.movedim(1, -1).reshape(-1, K), p.movedim(1, -1).reshape(-1, K))
    return rows.view(p.shape[0], -1).mean(dim=1)


def _apply_divergence(div, p_hat, p):
    out = div(p_hat, p)
    if not isinstance(out, torch.Tensor) or out.shape != (p.shape[0],):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"divergence must return a tensor of shape (B,) = ({p.shape[0]},), got {shape}")
    return out


# ----------------------------------------------------------------------------- model guards
@contextlib.contextmanager
@_doc
def frozen_batchnorm(model):
    r"""Context manager under which BatchNorm layers leave their running statistics alone.

    Inside the context every ``_BatchNorm`` module of ``model`` that is in training mode
    still normalises with the statistics of the current batch,

    .. math::
        \mathrm{BN}(h) = \gamma \frac{h - \mu_{\text{batch}}}{\sqrt{\sigma^2_{\text{batch}} + \epsilon}} + \beta,

    but neither ``running_mean``, ``running_var`` nor ``num_batches_tracked`` change: the
    module's ``track_running_stats`` is set to False for the duration and restored on exit,
    also when an exception is raised. Modules in eval mode already use (and never update)
    their running statistics and are not touched. Train / eval modes are not changed.

    This is the guard the adversarial passes of VAT need: public ports that omit it let the
    perturbed inputs update the running statistics :cite:`damodaran2020wat`.

    Parameters
    ----------
    model : torch.nn.Module
        Any module; its BatchNorm submodules (of any dimension) are guarded.

    Yields
    ------
    torch.nn.Module
        ``model`` itself.

    References
    ----------
    .. [1] {miyato}

    Examples
    --------
    >>> import torch
    >>> bn = torch.nn.BatchNorm1d(2)
    >>> with frozen_batchnorm(bn):
    ...     _ = bn(torch.randn(8, 2))
    >>> bn.running_mean, int(bn.num_batches_tracked)
    (tensor([0., 0.]), 0)
    >>> bn.track_running_stats
    True
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    frozen = [m for m in model.modules() if isinstance(m, _BatchNorm) and m.training and m.track_running_stats]
    try:
        for m in frozen:
            m.track_running_stats = False
        yield model
    finally:
        for m in frozen:
            m.track_running_stats = True


def _guard(model):
    return frozen_batchnorm(model) if isinstance(model, torch.nn.Module) else contextlib.nullcontext(model)


def _unit(d):
    r"""Per-sample unit vectors :math:`d_i / \|d_i\|_2` over all non-batch dimensions.

    Each sample is first divided by its largest absolute entry, so that the squares in the
    norm neither underflow nor overflow; both divisions add ``torch.finfo(dtype).tiny`` to
    the denominator, so a sample whose ``d`` is exactly zero gives a zero vector (not NaN).
    """
    tiny = torch.finfo(d.dtype).tiny
    flat = d.flatten(1)
    flat = flat / (flat.abs().amax(dim=1, keepdim=True) + tiny)
    flat = flat / (torch.linalg.vector_norm(flat, dim=1, keepdim=True) + tiny)
    return flat.view_as(d)


def _clean_prediction(model, x, logits, div=None):
    """p_hat = softmax(logits).detach() in float32 or higher.

    Passed logits are reused when they are float32 or higher. Otherwise (no logits, or
    half-precision logits from autocast, whose rounding error of about 1e-3 would swamp the
    xi-scaled difference) one clean forward is made without gradient, in the precision of the
    direction search. The number of classes is checked against the cost of a
    :func:`wasserstein` divergence before the search passes.
    """
    work = _work_dtype(x.dtype)
    if logits is not None:
        _check_logits(logits, x, "logits")
    if logits is not None and torch.finfo(logits.dtype).bits >= 32:
        p_hat, name = torch.softmax(logits.detach().to(work), dim=1), "logits"
    else:
        with torch.no_grad(), torch.autocast(device_type=x.device.type, enabled=False):
            logits = model(x.detach().to(work))
        _check_logits(logits, x, "model(x)")
        p_hat, name = torch.softmax(logits.to(work), dim=1), "model(x)"
    if isinstance(div, _Wasserstein) and p_hat.shape[1] != div.C.shape[0]:
        raise ValueError(
            f"{name} has {p_hat.shape[1]} classes (shape {tuple(p_hat.shape)}) but C has shape "
            f"{tuple(div.C.shape)}: the cost must be K x K for the model's K classes"
        )
    return p_hat


def _direction(model, x, div, p_hat, xi, eps, n_power, name):
    """Algorithm 1, lines 3-8, in float32 or higher with autocast off; returns r_adv detached."""
    work = p_hat.dtype
    x_work = x.detach().to(work)
    d = torch.randn_like(x_work)
    with torch.enable_grad(), torch.autocast(device_type=x.device.type, enabled=False):
        for _ in range(n_power):
            r = (xi * _unit(d)).requires_grad_(True)
            (grad,) = torch.autograd.grad(_divergence_at(div, p_hat, model(x_work + r).to(work)).sum(), r)
            d = grad / xi
    if not bool(torch.isfinite(d).all()):
        raise ValueError(
            f"the direction search gave a non-finite gradient (divergence={name}, xi={xi!r}); "
            "check the divergence and the model for NaN or inf"
        )
    return (eps * _unit(d)).to(x.dtype).detach()


@_doc
def adversarial_perturbation(model, x, divergence="kl", xi=paper.XI, eps=paper.EPS, n_power=paper.N_POWER,
                             logits=None):
    r"""Virtual adversarial perturbation by power iteration (Algorithm 1, lines 3-8).

    The perturbation of norm at most :math:`\varepsilon` that changes the prediction most
    (Eq. 1),

    .. math::
        r^a = \operatorname*{argmax}_{\|r\|_2 \le \varepsilon}
        D\big(\hat p_\theta(x),\ p_\theta(x + r)\big),

    is approximated through the second-order expansion at :math:`r = 0` (Eq. 2),
    :math:`D \approx \frac{1}{2} r^\top H r`, whose maximiser is :math:`\varepsilon` times the
    top eigenvector of :math:`H`. The power iteration estimates it with finite differences of
    gradients, starting from a random :math:`d`:

    .. math::
        \begin{aligned}
        &\text{repeat } k_{\max} \text{ times:}\quad r = \xi \frac{d}{\|d\|_2}, \quad
        d \leftarrow \frac{\nabla_r D\big(\hat p_\theta(x),\ p_\theta(x + r)\big)}{\xi};\\
        &r^a = \varepsilon \frac{d}{\|d\|_2}.
        \end{aligned}

    Norms are per sample, over all non-batch dimensions. When the gradient of ``D`` at
    :math:`r = 0` vanishes (``kl``, ``l2``: :math:`\hat p = p` is a minimum),
    :math:`\nabla_r D(\xi d)/\xi = H d + O(\xi)` and the iteration is the power method on
    :math:`H`. Where it does not vanish (the entropic OT loss of :func:`wasserstein`, whose
    plan at :math:`p = \hat p` is not diagonal), the term :math:`\nabla_r D(0)/\xi` dominates
    and :math:`r^a` follows the input gradient of ``D`` at :math:`r = 0`.

    Cost and side effects: one clean forward without gradient when ``logits`` is None (none
    when float32 clean logits are passed), then ``n_power`` forward and backward passes to the
    input. Gradients are taken with ``torch.autograd.grad`` with respect to ``r`` only, so no
    parameter's ``.grad`` is created or changed and nothing accumulates in ``x.grad``; train /
    eval modes are unchanged (dropout acts as the model's mode says) and BatchNorm running
    statistics are left alone (:func:`frozen_batchnorm`). The search enables gradients for
    itself, so the function also works under ``torch.no_grad()``. With dropout active, each pass
    draws its own mask, as in the reference implementations. The search runs in float32 or higher
    with autocast disabled, because in half precision :math:`x + \xi d` rounds to :math:`x` and
    the gradient vanishes. Float32 is itself tight for the paper's :math:`\xi = 10^{-6}`:
    floats near 1 are :math:`1.2 \times 10^{-7}` apart, so on inputs of order one part of the
    step is lost to rounding, and a sample whose perturbed prediction rounds to the clean one
    has a gradient of exactly zero. Such a sample gets :math:`r^a = 0`: the per-sample
    normalisation adds ``torch.finfo(dtype).tiny`` to its denominators instead of dividing by
    zero (no NaN).

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch of inputs (B, ...) to logits (B, K), or to dense logits ``(B, K, *S)`` (one
        histogram per pixel, as in segmentation: ``D`` is then averaged over the locations of
        each sample). Floating parameters must be float32 or higher.
    x : torch.Tensor, shape (B, ...)
        Batch of inputs.
    divergence : {"kl", "l2", "tv"} or callable
        :math:`D(\hat p, p)`, a callable ``(p_hat, p) -> (B,)`` on histograms (B, K), such as
        ``wasserstein(C, OTSettings(reg=reg))``.
    xi : float
        Finite-difference step :math:`\xi > 0` (the paper uses 1e-6).
    eps : float
        Radius :math:`\varepsilon \ge 0` of the perturbation (the paper uses 0.005).
    n_power : int
        Number :math:`k_{\max} \ge 1` of power iterations (the paper uses 1).
    logits : torch.Tensor, shape (B, K) or ``(B, K, *S)``, optional
        Clean logits ``model(x)`` when already computed; they are detached and reused, and no
        clean forward is made. Logits in half precision (from autocast) are not reused: the
        finite difference needs its reference in the precision of the search, so one clean
        forward in float32 is made instead.

    Returns
    -------
    torch.Tensor, same shape, dtype and device as x
        :math:`r^a`, detached, with per-sample norm ``eps`` (or 0, see above).

    References
    ----------
    .. [1] {miyato}
    .. [2] Goodfellow, I., Shlens, J., Szegedy, C. (2015). Explaining and Harnessing
       Adversarial Examples. ICLR.
    .. [3] {damodaran} Algorithm 1.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Linear(2, 3)
    >>> x = torch.randn(4, 2)
    >>> r_adv = adversarial_perturbation(model, x, "kl", eps=0.1)
    >>> r_adv.shape
    torch.Size([4, 2])
    >>> torch.allclose(r_adv.norm(dim=1), torch.full((4,), 0.1))
    True
    >>> all(p.grad is None for p in model.parameters())
    True
    """
    div = _resolve_divergence(divergence)
    xi, eps, n_power = _check_search_params(xi, eps, n_power)
    _check_model_input(model, x)
    with _guard(model):
        p_hat = _clean_prediction(model, x, logits, div)
        return _direction(model, x, div, p_hat, xi, eps, n_power, divergence)


@_doc
def vat_loss(model, x, divergence="kl", xi=paper.XI, eps=paper.EPS, n_power=paper.N_POWER, logits=None):
    r"""The virtual adversarial regularizer of Eq. 6 (VAT with divergence ``D``).

    .. math::
        \mathcal{R} = \frac{1}{B} \sum_{i=1}^{B}
        D\big(\hat p_\theta(x_i),\ p_\theta(x_i + r^a_i)\big)

    where :math:`\hat p_\theta(x_i)` is the clean prediction, detached (a constant "virtual
    label"), and :math:`r^a` is :func:`adversarial_perturbation`. The value is differentiable
    with respect to the model's parameters (and to ``x`` if ``x`` requires grad) through
    :math:`p_\theta(x + r^a)` only.

    Passes: the clean forward (skipped when ``logits`` is given), ``n_power`` forward and
    backward passes to the input, and one forward on ``x + r_adv``; all leave BatchNorm
    running statistics, train / eval modes and the parameters' ``.grad`` as they were.

    Parameters
    ----------
    model : torch.nn.Module
        Maps (B, ...) to logits (B, K), or to dense logits ``(B, K, *S)``: the divergence is
        then taken at every location and averaged over them (the pixel-wise regularizer of
        the paper's segmentation experiment, Section 5.2).
    x : torch.Tensor, shape (B, ...)
        Batch of inputs.
    divergence : {"kl", "l2", "tv"} or callable
        :math:`D`, as in :func:`adversarial_perturbation`.
    xi : float
        Finite-difference step :math:`\xi > 0`.
    eps : float
        Radius :math:`\varepsilon \ge 0`.
    n_power : int
        Power iterations :math:`k_{\max} \ge 1`.
    logits : torch.Tensor, shape (B, K) or ``(B, K, *S)``, optional
        Clean logits to reuse (for instance those of the cross-entropy term of Eq. 7).

    Returns
    -------
    torch.Tensor, shape ()
        The mean divergence over the batch (and over locations, for dense logits), in
        float32 or higher.

    References
    ----------
    .. [1] {miyato}
    .. [2] {damodaran} Eq. 6.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Linear(2, 3)
    >>> x = torch.randn(4, 2)
    >>> logits = model(x)
    >>> loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 0]))
    >>> reg = vat_loss(model, x, "kl", eps=0.1, logits=logits)
    >>> reg.shape, bool(reg > 0)
    (torch.Size([]), True)
    >>> (loss + 5.0 * reg).backward()
    >>> model.weight.grad.shape
    torch.Size([3, 2])
    """
    return _regularizer(model, x, divergence, xi, eps, n_power, logits)[0]


def _regularizer(model, x, divergence, xi, eps, n_power, logits):
    """:func:`vat_loss`'s value and the shape of the logits at x + r_adv."""
    div = _resolve_divergence(divergence)
    xi, eps, n_power = _check_search_params(xi, eps, n_power)
    _check_model_input(model, x)
    with _guard(model):
        p_hat = _clean_prediction(model, x, logits, div)
        r_adv = _direction(model, x, div, p_hat, xi, eps, n_power, divergence)
        logits_adv = model(x + r_adv)
        _check_logits(logits_adv, x, "model(x + r_adv)")
        return _divergence_at(div, p_hat, logits_adv.to(p_hat.dtype)).mean(), logits_adv.shape


@_doc
def wat_loss(model, x, C, ot=OTSettings(), xi=paper.XI, eps=paper.EPS, n_power=paper.N_POWER, logits=None,
             return_diagnostics=False):
    r"""The Wasserstein adversarial regularizer of Eq. 6 (WAT).

    .. math::
        \mathcal{R}_{\mathrm{WAT}} = \frac{1}{B} \sum_{i=1}^{B}
        \mathrm{OT}_C^\lambda\big(\hat p_\theta(x_i),\ p_\theta(x_i + r^a_i)\big)

    :func:`vat_loss` with ``divergence = wasserstein(C, ot)``: the same direction search
    (Algorithm 1) and the same passes, with the entropic OT loss of Eq. 5 in place of KL. The
    settings ``ot`` serve both OT solves, the one of the direction search and the final one at
    :math:`x + r^a`; each warns (:class:`watlib.ot.ConvergenceWarning`) when it ends at
    ``max_iter`` far from convergence.

    Parameters
    ----------
    model : torch.nn.Module
        Maps (B, ...) to logits (B, K), or to dense logits ``(B, K, *S)``: the divergence is
        then taken at every location and averaged over them (the pixel-wise regularizer of
        the paper's segmentation experiment, Section 5.2).
    x : torch.Tensor, shape (B, ...)
        Batch of inputs.
    C : torch.Tensor, shape (K, K)
        Ground cost between classes.
    ot : watlib.ot_settings.OTSettings
        Entropic regularization :math:`\lambda` and solver settings, as in :func:`wasserstein`
        (the library's by default: :math:`\lambda = 0.05`, Sinkhorn, unrolled gradients).
    xi, eps, n_power, logits
        As in :func:`vat_loss` (the paper's 1e-6, 0.005, 1 by default).
    return_diagnostics : bool
        Also return how the final OT solve (at :math:`x + r^a`) ended.

    Returns
    -------
    torch.Tensor, shape ()
        The mean OT loss over the batch.
    diagnostics : watlib.ot.SinkhornDiagnostics
        Only with ``return_diagnostics=True``: iterations, whether the stopping rule was met,
        and the column-marginal violation per sample, shape (B,), or per location,
        ``(B, *S)``, for dense logits.

    References
    ----------
    .. [1] {damodaran} Eq. 6, Alg. 1.
    .. [2] {miyato}

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Linear(2, 3)
    >>> x = torch.randn(4, 2)
    >>> C = torch.tensor([[0.0, 5.0, 1.0], [5.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    >>> reg, diag = wat_loss(model, x, C, OTSettings(reg=0.05, max_iter=1000), eps=0.1, return_diagnostics=True)
    >>> reg.shape, bool(reg > 0)
    (torch.Size([]), True)
    >>> diag.marginal_violation.shape, diag.converged, diag.iterations < 1000
    (torch.Size([4]), True, True)

    (With this cost, :math:`\max C / \lambda = 100` and float32 inputs, the default 100
    iterations leave a violation of about 0.04, and the call warns.)
    """
    return_diagnostics = check_bool("return_diagnostics", return_diagnostics)
    div = wasserstein(C, ot)
    value, shape = _regularizer(model, x, div, xi, eps, n_power, logits)
    if not return_diagnostics:
        return value
    diagnostics = div.last_diagnostics
    if len(shape) > 2:  # one pair per location
        diagnostics = diagnostics._replace(
            marginal_violation=diagnostics.marginal_violation.reshape(shape[0], *shape[2:]))
    return value, diagnostics


@_doc
def divergence_derivatives(model, x, divergence="kl", hessian=True):
    r"""Exact gradient and Hessian of :math:`r \mapsto D(\hat p_\theta(x), p_\theta(x + r))` at 0.

    The terms of the second-order expansion behind Eq. 2,

    .. math::
        \begin{aligned}
        D\big(\hat p_\theta(x),\ p_\theta(x + r)\big) &= g^\top r + \frac{1}{2} r^\top H r
        + O(\|r\|^3),\\
        g = \nabla_r D\,\big|_{r=0}, &\quad H = \nabla^2_r D\,\big|_{r=0},
        \end{aligned}

    computed per sample by automatic differentiation (``torch.autograd.functional``). For
    ``kl`` and ``l2``, :math:`g = 0`; the power iteration of
    :func:`adversarial_perturbation` then converges to the top eigenvector of :math:`H`. Meant
    for small inputs (the toy, tests): it costs one Hessian of size (D, D) per sample. The
    Hessian needs a twice-differentiable divergence; pass ``hessian=False`` for the gradient
    alone (for instance with :func:`wasserstein`, whose solver may differentiate only once).
    Training-mode layers act as in training (use ``model.eval()`` for a deterministic
    reference); BatchNorm statistics are left alone.

    Parameters
    ----------
    model : torch.nn.Module
        Maps (B, D) to logits (B, K); each sample is passed alone, as a batch of one.
    x : torch.Tensor, shape (B, D)
        Points at which to expand.
    divergence : {"kl", "l2", "tv"} or callable
        :math:`D`, as in :func:`adversarial_perturbation`.
    hessian : bool
        Compute the Hessians too.

    Returns
    -------
    g : torch.Tensor, shape (B, D)
        Gradients at :math:`r = 0`.
    H : torch.Tensor, shape (B, D, D), or None when ``hessian`` is False
        Hessians at :math:`r = 0`.

    References
    ----------
    .. [1] {miyato}
    .. [2] Golub, G. H., van der Vorst, H. A. (2000). Eigenvalue computation in the 20th
       century. J. Comput. Appl. Math. 123(1).

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Linear(2, 3).double()
    >>> x = torch.randn(1, 2, dtype=torch.float64)
    >>> g, H = divergence_derivatives(model, x, "kl")
    >>> g.abs().max().item() < 1e-12, H.shape
    (True, torch.Size([1, 2, 2]))
    >>> W, p = model.weight, torch.softmax(model(x), dim=1)[0]
    >>> fisher = W.T @ (torch.diag(p) - torch.outer(p, p)) @ W
    >>> torch.allclose(H[0], fisher)
    True
    """
    div = _resolve_divergence(divergence)
    _check_model_input(model, x)
    if x.dim() != 2:
        raise ValueError(f"x must have shape (B, D), got shape {tuple(x.shape)}")
    check_bool("hessian", hessian)
    gs, Hs = [], []
    with _guard(model):
        for x_one in x.detach():
            x_one = x_one.unsqueeze(0)
            p_hat = _clean_prediction(model, x_one, None)

            def D(r, x_one=x_one, p_hat=p_hat):
                return _divergence_at(div, p_hat, model(x_one + r.unsqueeze(0)).to(p_hat.dtype)).sum()

            r0 = torch.zeros_like(x_one[0])
            gs.append(torch.autograd.functional.jacobian(D, r0))
            if hessian:
                Hs.append(torch.autograd.functional.hessian(D, r0))
    return torch.stack(gs), (torch.stack(Hs) if hessian else None)
