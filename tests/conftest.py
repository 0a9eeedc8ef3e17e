"""Fixtures shared by the tests of the run machinery (engine, records, train)."""

import pytest

from watlib.testing import write_fake_cifar
from watlib.records import record_path
from watlib.train import make_config, run


@pytest.fixture(scope="session")
def fake_cifar(tmp_path_factory):
    """CIFAR-10 files generated in torchvision's real format (no download), and their MD5 table."""
    root = tmp_path_factory.mktemp("cifar")
    checksums = write_fake_cifar(root, "cifar10", n_train=120, n_test=40, seed=0)
    return root, checksums


class TinyRuns:
    """Classification runs of seconds on the generated CIFAR-10 files."""

    def __init__(self, root, checksums):
        self.root, self.checksums = root, checksums

    @staticmethod
    def config(method="cce", **kw):
        values = dict(epochs=2, milestones=(1,), batch_size=32, width=0.0625, warmup=0, train_size=64,
                      test_size=40)
        values.update(kw)
        return make_config("cifar10", 0.4, method, preset="smoke", seed=0, **values)

    def run(self, config, results_dir, **kw):
        return run(config, results_dir=results_dir, data_root=self.root, checksums=self.checksums,
                   progress=False, **kw)

    @staticmethod
    def record_path(results_dir, config):
        return record_path(results_dir, config.dataset, config.name())


@pytest.fixture
def tiny(fake_cifar):
    return TinyRuns(*fake_cifar)
