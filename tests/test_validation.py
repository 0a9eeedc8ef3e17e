"""The noisy validation split of the CCE run and its best model (watlib.validation)."""

import pytest
import torch

from watlib.data import ClassificationDataset
from watlib.validation import VAL_SPLIT, BestModel, validation_size, validation_split


def _dataset(n=100, K=5):
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1)
    return ClassificationDataset(x, torch.arange(n) % K, list("abcde")[:K], "toy", True)


def test_the_default_size_is_keras_share_of_training_plus_validation_images():
    assert VAL_SPLIT == 0.1  # Patrini et al.'s val_split
    assert validation_size(None, 4000, 60000) == 444  # 4,000 + 444: a tenth is validation
    assert validation_size(None, None, 60000) == 6000  # a tenth of the full set held out
    assert validation_size(300, 4000, 60000) == 300 and validation_size(0, None, 60000) == 0
    with pytest.raises(ValueError, match="val_size must be < 100"):
        validation_size(100, None, 100)
    with pytest.raises(ValueError, match="val_size must be an int >= 0, got -1"):
        validation_size(-1, 10, 100)


@pytest.mark.parametrize("train_size", [40, None])
def test_the_split_is_disjoint_balanced_and_keeps_the_training_subset(train_size):
    from watlib.data import subset

    ds = _dataset()
    n_val = validation_size(None, train_size, len(ds))
    train, val = validation_split(ds, train_size, n_val, seed=3)
    assert len(val) == n_val and not set(train.indices.tolist()) & set(val.indices.tolist())
    assert torch.equal(val.x.view(-1).long(), val.indices)  # the images are those the indices name
    counts = torch.bincount(val.y, minlength=5)
    assert int(counts.max() - counts.min()) <= 2
    if train_size is not None:  # the same training images as a run without validation split
        assert torch.equal(train.indices, subset(ds, train_size, seed=3).indices)
    else:
        assert len(train) + len(val) == len(ds)


def test_best_model_keeps_the_state_of_the_lowest_loss_and_survives_a_round_trip():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    x, y = torch.rand(20, 3) + 0.5, torch.zeros(20, dtype=torch.int64)
    best = BestModel(model, x, y, torch.device("cpu"), batch=7)
    first = best.update(0)
    assert first == pytest.approx(float(torch.nn.functional.cross_entropy(model(x), y)), rel=1e-6)
    kept = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight[0].sub_(10.0)  # class 1 everywhere: much worse
        model.weight[1].add_(10.0)
    best.update(1)
    assert best.epoch == 1 and best.losses[1] > best.losses[0]
    for k, v in best.best_model().state_dict().items():
        assert torch.equal(v, kept[k])
    other = BestModel(model, x, y, torch.device("cpu"))
    other.load_state_dict(best.state_dict())
    assert other.epoch == 1 and other.losses == best.losses
