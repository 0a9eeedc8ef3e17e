"""Adding a method, a data set or a ground cost touches only their own code: a class, a registry
entry and its loader, a cost's builder, all written here, and no file of watlib.

The toy data set and the toy method below are registered, then trained for one smoke epoch
through the same ``watlib.train.run`` as Table 2's runs; the configuration checks, the noise
model, the command line's choices and the results table see them without another edit.
"""

import torch
import torch.nn.functional as F
import pytest

from watlib import paper
from watlib.__main__ import _parser
from watlib.costs import GROUND_COSTS, GroundCost, register_ground_cost, zero_one_cost
from watlib.data.registry import (CLASSIFICATION_DATASETS, DATASET_LABELS, DatasetInfo, register_dataset,
                                  unregister_dataset)
from watlib.methods import METHOD_LABELS, METHODS, Method, register_method, unregister_method
from watlib.noise import transition_matrix
from watlib.results import results_table, run_label
from watlib.train import make_config, method_fields, run

CLASSES = ("circle", "square", "cross")


def _load_shapes(root, train):
    """A reader of a small three-class data set: 28 x 28 grey images whose class is the
    quadrant that holds their bright blob (generated here: the reader stands for one of files)."""
    g = torch.Generator().manual_seed(0 if train else 1)
    n = 96 if train else 48
    y = torch.arange(n) % len(CLASSES)
    x = 0.1 * torch.randn(n, 1, 28, 28, generator=g)
    for i, k in enumerate(y.tolist()):
        r, c = divmod(k, 2)
        x[i, 0, 14 * r : 14 * r + 14, 14 * c : 14 * c + 14] += 1.0
    return x, y


class SmoothedCCE(Method):
    """Cross-entropy against labels smoothed by 0.1 (Szegedy et al. 2016): the toy method."""

    name = "smoothed"
    label = "CCE (smoothed)"

    def loss(self, models, x, y, epoch):
        return F.cross_entropy(models[0](x), y, label_smoothing=0.1)


@pytest.fixture
def extended():
    info = register_dataset(DatasetInfo(
        "shapes", "classification", CLASSES, 1, (28, 28), paper.Schedule(1, ()), label="Shapes",
        noise={"cycle": (("circle", "square", 1.0), ("square", "cross", 1.0), ("cross", "circle", 1.0))},
        loader=_load_shapes))
    register_method(SmoothedCCE)
    register_ground_cost(GroundCost("half_zero_one", "0-1 / 2", lambda inputs: zero_one_cost(len(inputs.classes)) / 2))
    try:
        yield info
    finally:
        unregister_method("smoothed")
        unregister_dataset("shapes")
        GROUND_COSTS.unregister("half_zero_one")


def test_a_registered_method_and_data_set_train_one_smoke_epoch(extended, tmp_path):
    assert "smoothed" in METHODS and "shapes" in CLASSIFICATION_DATASETS
    assert METHOD_LABELS["smoothed"] == "CCE (smoothed)" and DATASET_LABELS["shapes"] == "Shapes"
    T = transition_matrix("shapes", 0.25)
    assert T.tolist() == [[0.75, 0.25, 0.0], [0.0, 0.75, 0.25], [0.25, 0.0, 0.75]]
    config = make_config("shapes", 0.25, "smoothed", preset="smoke", epochs=1, train_size=60, test_size=30, batch_size=20)
    assert config.epochs == 1 and method_fields("smoothed") == ()
    record = run(config, results_dir=tmp_path, progress=False)
    assert record["complete"] and record["n_train"] == 60 and record["n_test"] == 30
    assert record["noise"]["transition"] == T.tolist() and record["history"]["epoch"] == [1]
    assert (tmp_path / "shapes" / f"{config.name()}.json").is_file()
    # the results table shows every method it finds, under its own label
    table = results_table([record], paper=False)
    assert list(table.index) == ["CCE (smoothed)"]
    assert table.loc["CCE (smoothed)", ("shapes", 0.25, "ours (smoke)")].endswith("[1]")
    # a Table 2 method trains on the new data set too
    cce = run(make_config("shapes", 0.25, "cce", preset="smoke", epochs=1, train_size=60, test_size=30, batch_size=20),
              results_dir=tmp_path, progress=False)
    assert list(results_table([cce, record], paper=False).index) == ["CCE", "CCE (smoothed)"]
    assert len(cce["transition_estimate"]) == 3  # the reference run's estimate, with K = 3


def test_a_registered_ground_cost_trains_a_wat_run(extended, tmp_path):
    config = make_config("shapes", 0.25, "wat01", preset="smoke", epochs=1, warmup=0, cost="half_zero_one",
                         train_size=60, test_size=30, batch_size=20)
    record = run(config, results_dir=tmp_path, progress=False)
    assert record["ground_cost"] == [[0.0 if i == j else 0.5 for j in range(3)] for i in range(3)]
    assert record["history"]["ot_violation_max"][0] <= 1e-6  # the regularizer ran, converged, in epoch 1
    assert run_label(record["config"]) == "WAT (0-1 / 2)"


def test_the_command_line_offers_what_is_registered(extended):
    args = _parser().parse_args(["train", "--dataset", "shapes", "--method", "smoothed", "cce", "--cost",
                                 "half_zero_one"])
    assert args.dataset == "shapes" and args.method == ["smoothed", "cce"] and args.cost == "half_zero_one"


def test_unregistered_names_are_errors_again():
    for name in ("smoothed", "shapes"):
        assert name not in METHODS and name not in CLASSIFICATION_DATASETS
    with pytest.raises(ValueError, match="method must be one of"):
        make_config("fashion_mnist", 0.4, "smoothed")
    with pytest.raises(ValueError, match="dataset must be one of"):
        make_config("shapes", 0.4, "cce")


def test_a_method_must_declare_what_the_registry_lists():
    class Nameless(Method):
        label = "?"

    with pytest.raises(ValueError, match="must declare its own name and label"):
        register_method(Nameless)
    with pytest.raises(ValueError, match="already registered"):
        register_method(type("CCE2", (Method,), {"name": "cce", "label": "CCE again"}))
    with pytest.raises(ValueError, match="needs must be a subset"):
        register_method(type("Odd", (Method,), {"name": "odd", "label": "Odd", "needs": frozenset({"oracle"})}))
    with pytest.raises(TypeError, match="subclass of watlib.methods.Method"):
        register_method(object)


def test_a_data_set_entry_is_checked_when_it_is_made():
    schedule = paper.Schedule(1, ())
    with pytest.raises(ValueError, match="is not one of the classes"):
        DatasetInfo("bad", "classification", CLASSES, 1, (28, 28), schedule, noise={"v": (("circle", "dog", 1.0),)})
    with pytest.raises(ValueError, match="must sum to 1"):
        DatasetInfo("bad", "classification", CLASSES, 1, (28, 28), schedule, noise={"v": (("circle", "cross", 0.5),)})
    with pytest.raises(ValueError, match="needs a loader"):
        register_dataset(DatasetInfo("bad", "classification", CLASSES, 1, (28, 28), schedule))
    with pytest.raises(ValueError, match="already registered"):
        register_dataset(DatasetInfo("cifar10", "classification", CLASSES, 1, (28, 28), schedule, loader=_load_shapes))


def test_a_loader_that_returns_the_wrong_shape_is_named(extended, tmp_path):
    from watlib.data import load_dataset

    register_dataset(DatasetInfo("shapes", "classification", CLASSES, 3, (28, 28), paper.Schedule(1, ()),
                                 loader=_load_shapes), replace=True)
    with pytest.raises(ValueError, match=r"the loader of 'shapes' must return inputs \(N, 3, 28, 28\)"):
        load_dataset("shapes")
