"""The argument validators every module of watlib uses (private: not part of the public API).

One rule for every message: the argument's name, the rule it breaks and the value it got,

* ``TypeError``: ``"<name> must be <kind>, got <value!r> of type <type>"``;
* ``ValueError``: ``"<name> must be <rule>, got <value!r>"``.

Each checker returns the value converted to the plain Python type it checked (``int``,
``float``, ``bool``, ``pathlib.Path``), so callers write ``n = check_int("n", n, ge=1)``.

Examples
--------
>>> check_int("epochs", 3, ge=1)
3
>>> check_real("reg", 0, gt=0)
Traceback (most recent call last):
...
ValueError: reg must be a finite number > 0, got 0
>>> check_real("noise", 1.5, ge=0, le=1)
Traceback (most recent call last):
...
ValueError: noise must be a finite number in [0, 1], got 1.5
>>> check_choice("method", "wat", ("cce", "watc"))
Traceback (most recent call last):
...
ValueError: method must be one of ('cce', 'watc'), got 'wat'
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path

__all__ = ["check_int", "check_real", "check_bool", "check_choice", "check_path", "check_folder", "check_sequence",
           "check_device", "check_tensor", "check_milestones", "check_model_dtype", "check_row_stochastic",
           "ROW_SUM_ATOL", "check_labels", "SUM_TOL", "histogram_sum_tol", "first_index", "SEED_BOUND", "check_seed",
           "describe"]

#: How far from 1 (absolute) a row of a row-stochastic matrix may sum, wherever one is checked
#: (a noise transition matrix, an estimate of it, the matrix a cost is built from).
ROW_SUM_ATOL = 1e-6


def describe(value) -> str:
    """``value!r`` and its type, for the tail of a TypeError.

    Examples
    --------
    >>> describe(1.5)
    '1.5 of type float'
    """
    return f"{value!r} of type {type(value).__name__}"


def _rule(kind, ge, gt, le, lt):
    """``"a finite number > 0"``, ``"an int in [0, 5]"``, ... from the bounds given."""
    low = ("[", ge) if ge is not None else ("(", gt) if gt is not None else None
    high = ("]", le) if le is not None else (")", lt) if lt is not None else None
    if low and high:
        return f"{kind} in {low[0]}{low[1]}, {high[1]}{high[0]}"
    if low:
        return f"{kind} {'>=' if low[0] == '[' else '>'} {low[1]}"
    if high:
        return f"{kind} {'<=' if high[0] == ']' else '<'} {high[1]}"
    return kind


def _within(v, ge, gt, le, lt):
    return ((ge is None or v >= ge) and (gt is None or v > gt)
            and (le is None or v <= le) and (lt is None or v < lt))


def check_int(name: str, value, *, ge=None, gt=None, le=None, lt=None) -> int:
    """``value`` as an ``int`` within the bounds given (bools and floats are refused).

    Examples
    --------
    >>> check_int("n_power", 0, ge=1)
    Traceback (most recent call last):
    ...
    ValueError: n_power must be an int >= 1, got 0
    >>> check_int("batch_size", 2.0, ge=1)
    Traceback (most recent call last):
    ...
    TypeError: batch_size must be an int, got 2.0 of type float
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {describe(value)}")
    if not _within(value, ge, gt, le, lt):
        raise ValueError(f"{name} must be {_rule('an int', ge, gt, le, lt)}, got {value!r}")
    return int(value)


def check_real(name: str, value, *, ge=None, gt=None, le=None, lt=None) -> float:
    """``value`` as a finite ``float`` within the bounds given (bools, NaN and inf are refused).

    Examples
    --------
    >>> check_real("lr", float("nan"), gt=0)
    Traceback (most recent call last):
    ...
    ValueError: lr must be a finite number > 0, got nan
    >>> check_real("eps", "0.1", ge=0)
    Traceback (most recent call last):
    ...
    TypeError: eps must be a real number, got '0.1' of type str
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {describe(value)}")
    v = float(value)
    if not (math.isfinite(v) and _within(v, ge, gt, le, lt)):
        raise ValueError(f"{name} must be {_rule('a finite number', ge, gt, le, lt)}, got {value!r}")
    return v


def check_bool(name: str, value) -> bool:
    """``value`` when it is a ``bool``.

    Examples
    --------
    >>> check_bool("progress", 1)
    Traceback (most recent call last):
    ...
    TypeError: progress must be a bool, got 1 of type int
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {describe(value)}")
    return value


def check_choice(name: str, value, choices):
    """``value`` when it is one of ``choices`` (compared with ``==``; strings must be ``str``).

    Examples
    --------
    >>> check_choice("grad", "implicit", ("unrolled", "implicit"))
    'implicit'
    >>> check_choice("grad", None, ("unrolled", "implicit"))
    Traceback (most recent call last):
    ...
    TypeError: grad must be one of ('unrolled', 'implicit'), got None of type NoneType
    """
    choices = tuple(choices)
    if all(isinstance(c, str) for c in choices) and not isinstance(value, str):
        raise TypeError(f"{name} must be one of {choices}, got {describe(value)}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_path(name: str, value, *, exists: bool = False) -> Path:
    """``value`` as a ``pathlib.Path`` (``~`` expanded); with ``exists`` the path must exist.

    Examples
    --------
    >>> check_path("data_root", "/nonexistent/folder", exists=True)
    Traceback (most recent call last):
    ...
    ValueError: data_root must be an existing folder or file, got '/nonexistent/folder'
    """
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {describe(value)}")
    path = Path(value).expanduser()
    if exists and not path.exists():
        raise ValueError(f"{name} must be an existing folder or file, got {str(value)!r}")
    return path


def check_folder(name: str, value) -> Path:
    """``value`` as a ``pathlib.Path`` to a folder that exists, created (with its parents) when missing.

    The one check of a folder that will be written to (a results or checkpoint folder), made
    before any work so that a file in its place, or a place where no folder can be made
    (``/proc/x``, a read-only mount), fails at once and not when the first epoch is saved.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     check_folder("results_dir", Path(tmp) / "a" / "b").is_dir()
    True
    >>> with tempfile.NamedTemporaryFile() as f:
    ...     check_folder("checkpoint_dir", f.name)
    Traceback (most recent call last):
    ...
    ValueError: checkpoint_dir must be a folder (or a path where one can be created), got '...', which is a file
    """
    path = check_path(name, value)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{name} must be a folder (or a path where one can be created), got {str(value)!r}, "
                         "which is a file")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"{name} must be a folder (or a path where one can be created), got {str(value)!r}: "
                         f"{err.strerror or err}") from None
    return path


def check_sequence(name: str, value, *, of: str = "values") -> list:
    """``value`` as a non-empty ``list`` when it is a sequence (a list, tuple, range...): a bare
    ``str`` (whose characters would be taken one by one) or scalar is refused.

    Examples
    --------
    >>> check_sequence("seeds", (0, 1), of="ints")
    [0, 1]
    >>> check_sequence("methods", "cce", of="method names")
    Traceback (most recent call last):
    ...
    TypeError: methods must be a sequence of method names (a list or tuple), not a str, got 'cce'; write ['cce']
    >>> check_sequence("seeds", [], of="ints")
    Traceback (most recent call last):
    ...
    ValueError: seeds must hold at least one of its ints, got []
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of {of} (a list or tuple), not a {type(value).__name__}, "
                        f"got {value!r}; write [{value!r}]")
    if isinstance(value, (dict, set, frozenset)) or not hasattr(value, "__iter__") or not hasattr(value, "__len__"):
        raise TypeError(f"{name} must be a sequence of {of} (a list or tuple), got {describe(value)}")
    if len(value) == 0:
        raise ValueError(f"{name} must hold at least one of its {of}, got {value!r}")
    return list(value)


def check_device(name: str, value, *, available: bool = False, meta: bool = False):
    """``value`` as a ``torch.device`` (None passes through); with ``available`` the device
    must exist on this machine (CUDA or MPS present, the CUDA index within the device count)
    and be one to compute on: ``cpu``, ``cuda`` or ``mps``, and ``meta`` with ``meta``
    (tensors of shapes only, for building things without memory).

    Examples
    --------
    >>> check_device("device", "cpu")
    device(type='cpu')
    >>> check_device("device", "bogus")
    Traceback (most recent call last):
    ...
    ValueError: device must be a torch device such as 'cpu', 'cuda' or 'cuda:1', got 'bogus'
    >>> check_device("device", 0.5)
    Traceback (most recent call last):
    ...
    TypeError: device must be None, a str or a torch.device, got 0.5 of type float
    """
    import torch

    if value is None:
        return None
    if not isinstance(value, (str, torch.device)):
        raise TypeError(f"{name} must be None, a str or a torch.device, got {describe(value)}")
    try:
        dev = torch.device(value)
    except RuntimeError:
        raise ValueError(f"{name} must be a torch device such as 'cpu', 'cuda' or 'cuda:1', got {value!r}") from None
    if not available:
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{name} {str(value)!r} was asked for but CUDA is not available on this machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"{name} {str(value)!r} does not exist: this machine has "
                             f"{torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name} {str(value)!r} was asked for but MPS is not available on this machine")
    elif dev.type not in ("cpu", "cuda", "mps", *(("meta",) if meta else ())):
        raise ValueError(f"{name} must be 'cpu', 'cuda[:N]' or 'mps'{', or meta' if meta else ''}, got {str(value)!r}")
    return dev


def check_tensor(name: str, value, *, floating: bool = False, values: bool = False):
    """``value`` when it is a ``torch.Tensor`` (of a floating dtype with ``floating``; with
    ``values``, not a ``meta`` tensor, which has a shape but no values to compute with).

    Examples
    --------
    >>> import numpy as np
    >>> check_tensor("a", np.zeros(2))
    Traceback (most recent call last):
    ...
    TypeError: a must be a torch.Tensor, got ndarray; convert NumPy arrays with torch.as_tensor
    >>> import torch
    >>> check_tensor("a", torch.zeros(2, device="meta"), values=True)
    Traceback (most recent call last):
    ...
    ValueError: a must be a tensor with values, got a meta tensor (shape (2,) only): meta tensors are not supported
    """
    import torch

    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}; "
                        "convert NumPy arrays with torch.as_tensor")
    if floating and not value.is_floating_point():
        raise TypeError(f"{name} must have a floating-point dtype, got {value.dtype}")
    if values and value.is_meta:
        raise ValueError(f"{name} must be a tensor with values, got a meta tensor (shape {tuple(value.shape)} only): "
                         "meta tensors are not supported")
    return value


def check_milestones(milestones) -> tuple:
    """``milestones`` as an increasing tuple of ints >= 1 (the epochs after which the learning
    rate drops; one past the last epoch never happens, which lets a shortened run keep its preset).

    Examples
    --------
    >>> check_milestones([20, 40])
    (20, 40)
    >>> check_milestones((20, 10))
    Traceback (most recent call last):
    ...
    ValueError: milestones must be increasing ints >= 1, got (20, 10)
    """
    if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
        raise TypeError(f"milestones must be a sequence of ints, got {describe(milestones)}")
    ms = tuple(milestones)
    for m in ms:
        check_int("each milestone", m)
    if any(m < 1 for m in ms) or any(b <= a for a, b in zip(ms, ms[1:])):
        raise ValueError(f"milestones must be increasing ints >= 1, got {ms!r}")
    return tuple(int(m) for m in ms)


def _autocast_enabled(device_type: str) -> bool:
    import torch

    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4 takes no device type
        if device_type == "cpu":
            return torch.is_autocast_cpu_enabled()
        return device_type == "cuda" and torch.is_autocast_enabled()


def check_model_dtype(model, x, name: str = "x") -> None:
    """A TypeError unless ``x`` has the dtype of ``model``'s floating parameters.

    Under ``torch.autocast`` on ``x``'s device the dtypes may differ (autocast casts them),
    so they are not compared there. A model without floating parameters accepts any dtype.

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Linear(3, 2)
    >>> check_model_dtype(model, torch.zeros(4, 3))
    >>> check_model_dtype(model, torch.zeros(4, 3, dtype=torch.float64))
    Traceback (most recent call last):
    ...
    TypeError: x has dtype torch.float64 but Linear's parameters are torch.float32; convert x with x.float() or the model with .double()
    """
    import torch

    convert = {torch.float32: "float()", torch.float64: "double()", torch.float16: "half()",
               torch.bfloat16: "bfloat16()"}
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), None)
    if dtype is None or x.dtype == dtype or _autocast_enabled(x.device.type):
        return
    mixed = torch.finfo(x.dtype).bits < 32 and dtype == torch.float32
    raise TypeError(
        f"{name} has dtype {x.dtype} but {type(model).__name__}'s parameters are {dtype}; convert {name} with "
        f"{name}.{convert.get(dtype, f'to({dtype})')} or the model with .{convert.get(x.dtype, f'to({x.dtype})')}"
        + (", or run under torch.autocast for mixed precision" if mixed else ""))


def check_row_stochastic(name: str, value, *, min_size: int = 1):
    """``value`` as a float64 NumPy (K, K) matrix: square, K >= ``min_size``, finite,
    non-negative, each row summing to 1 within :data:`ROW_SUM_ATOL`.

    The one check of a transition matrix :math:`T_{ij} = P(\\tilde y = j \\mid y = i)`; the
    message names the first bad entry or row.

    Examples
    --------
    >>> check_row_stochastic("T", [[0.6, 0.4], [0.0, 1.0]]).tolist()
    [[0.6, 0.4], [0.0, 1.0]]
    >>> check_row_stochastic("T", [[0.6, 0.5], [0.0, 1.0]])
    Traceback (most recent call last):
    ...
    ValueError: T must be row-stochastic (each row sums to 1 within 1e-06; T[i, j] = P(noisy = j | true = i)), got row 0 summing to 1.1
    """
    import numpy as np
    import torch

    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a real matrix (nested list, array or tensor): {err}") from err
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < max(1, min_size):
        size = "non-empty square (K, K) matrix" if min_size <= 1 else f"square (K, K) matrix with K >= {min_size}"
        raise ValueError(f"{name} must be a {size}, got shape {arr.shape}")
    for rule, bad in (("finite", ~np.isfinite(arr)), ("non-negative", arr < 0)):
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(f"{name} must be {rule}, got {name}[{i}, {j}] = {float(arr[i, j])!r}")
    sums = arr.sum(axis=1)
    off = np.abs(sums - 1.0) > ROW_SUM_ATOL
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise ValueError(f"{name} must be row-stochastic (each row sums to 1 within {ROW_SUM_ATOL:g}; {name}[i, j] = "
                         f"P(noisy = j | true = i)), got row {i} summing to {float(sums[i])!r}")
    return arr


#: How far from 1 a histogram may sum, at least: the marginals of OT (:func:`watlib.ot.ot_loss`)
#: and the predictions VAT and WAT compare (:mod:`watlib.adversarial`).
SUM_TOL = 1e-4


def histogram_sum_tol(dtype, n: int) -> float:
    r"""How far from 1 a histogram of ``n`` entries stored in ``dtype`` may sum:
    :math:`\max(\mathrm{SUM\_TOL},\ n\, \varepsilon_{\mathrm{dtype}})`, since each of its
    :math:`n` entries is rounded (half precision cannot sum to 1 closer than that).

    Examples
    --------
    >>> import torch
    >>> histogram_sum_tol(torch.float32, 10), histogram_sum_tol(torch.float16, 10)
    (0.0001, 0.009765625)
    """
    import torch

    return max(SUM_TOL, n * torch.finfo(dtype).eps)


def first_index(mask) -> tuple:
    """Index (a tuple of ints) of the first True entry of a boolean tensor, in row-major order.

    Examples
    --------
    >>> import torch
    >>> first_index(torch.tensor([[False, False], [False, True]]))
    (1, 1)
    """
    import torch

    return tuple(int(i) for i in torch.nonzero(mask)[0])


def check_labels(labels, name, num_classes):
    """``labels`` (numpy array, tensor or array-like of ints) as a numpy integer array, with
    every entry in [0, num_classes).

    The one label check (noise, segmentation metrics): a TypeError for a non-integer dtype, a
    ValueError naming the first label outside [0, num_classes) and its index. A tensor is
    copied to the CPU.

    Examples
    --------
    >>> import numpy as np
    >>> check_labels([0, 2, 1], "y", 3)
    array([0, 2, 1])
    >>> check_labels(np.array([[0, 1], [3, 0]]), "label_map", 3)
    Traceback (most recent call last):
    ...
    ValueError: label_map must lie in [0, 3) (the 3 classes), got label_map[(1, 0)] = 3
    """
    import numpy as np
    import torch

    if isinstance(labels, torch.Tensor):
        if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
            raise TypeError(f"{name} must hold integers, got dtype {labels.dtype}")
        arr = labels.detach().cpu().numpy()
    else:
        arr = np.asarray(labels)
        if arr.size == 0 and not isinstance(labels, np.ndarray):
            arr = arr.astype(np.int64)  # an empty list holds no non-integer
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    bad = (arr < 0) | (arr >= num_classes)
    if bad.any():
        flat = int(np.flatnonzero(bad)[0])
        index = flat if arr.ndim == 1 else tuple(int(k) for k in np.unravel_index(flat, arr.shape))
        raise ValueError(
            f"{name} must lie in [0, {num_classes}) (the {num_classes} classes), "
            f"got {name}[{index}] = {arr.reshape(-1)[flat]}"
        )
    return arr


#: Seeds are ints in [0, 2**63): torch's and NumPy's generators take up to 2**64 - 1, and a run
#: derives further seeds by adding small offsets to its own.
SEED_BOUND = 2**63


def check_seed(name: str, value) -> int:
    """``value`` as an int seed in [0, :data:`SEED_BOUND`).

    Examples
    --------
    >>> check_seed("seed", 3)
    3
    >>> check_seed("seed", 2**64)
    Traceback (most recent call last):
    ...
    ValueError: seed must be an int in [0, 2**63), got 18446744073709551616
    """
    value = check_int(name, value, ge=0)
    if value >= SEED_BOUND:
        raise ValueError(f"{name} must be an int in [0, 2**63), got {value}")
    return value
