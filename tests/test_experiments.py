"""The study's sweep (experiments/fashion_mnist_study.py): the grid the chapters' records come from."""

import importlib.util
from pathlib import Path

from watlib.paper import TABLE2_METHODS
from watlib.train import MATCH_WATC, reference_config

ROOT = Path(__file__).resolve().parents[1]


def _study():
    spec = importlib.util.spec_from_file_location("study", ROOT / "experiments" / "fashion_mnist_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_study_is_table_2_and_the_four_scaled_costs_over_three_seeds():
    study = _study()
    configs = study.study_configs()
    assert len(configs) == 42 and len({c.key() for c in configs}) == 42
    assert {(c.preset, c.noise, c.dataset) for c in configs} == {("cpu", 0.4, "fashion_mnist")}
    for seed in (0, 1, 2):
        mine = [c for c in configs if c.seed == seed]
        table2 = [c for c in mine if c.cost is None]
        assert sorted(c.method for c in table2) == sorted(TABLE2_METHODS)
        ablation = [c for c in mine if c.cost is not None]
        assert sorted(c.cost for c in ablation) == sorted(study.ABLATION_COSTS)
        assert all(c.method == "wat01" and c.cost_scale == MATCH_WATC for c in ablation)
        # every run that needs a CCE run needs this seed's Table 2 CCE run, which comes first
        assert mine[0].method == "cce"
        assert {reference_config(c).key() for c in mine if reference_config(c) is not None} == {mine[0].key()}
