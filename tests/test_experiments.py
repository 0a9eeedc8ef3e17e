"""The study's sweep (experiments/fashion_mnist_study.py): the grid the chapters' records come from."""

import importlib.util
from collections import Counter
from pathlib import Path

from watlib.ot_settings import OT_PRESETS
from watlib.paper import TABLE2_METHODS
from watlib.train import MATCH_WATC, WAT_METHODS, reference_config

ROOT = Path(__file__).resolve().parents[1]


def _study():
    spec = importlib.util.spec_from_file_location("study", ROOT / "experiments" / "fashion_mnist_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _arm(config):
    """What a configuration compares, without its seed."""
    ot = config.ot
    solver = None if ot is None else next(name for name, s in OT_PRESETS.items() if s == ot)
    return config.noise, config.method, config.cost, config.cost_scale, solver


def test_the_study_has_eight_seeds_of_the_compared_runs_and_three_of_the_others():
    study = _study()
    configs = study.study_configs()
    assert len({c.key() for c in configs}) == len(configs)
    assert {(c.preset, c.dataset) for c in configs} == {("cpu", "fashion_mnist")}
    seeds = Counter(_arm(c) for c in configs)
    eight = {(0.4, m, None, None, "train" if m in WAT_METHODS else None) for m in study.RESOLVED_METHODS}
    eight |= {(0.4, m, None, None, "released") for m in ("watc", "wat01")}
    eight |= {(0.4, "wat01", cost, MATCH_WATC, "train") for cost in ("zero_one", "word_distance", "features")}
    three = {(0.4, m, None, None, None) for m in TABLE2_METHODS if m not in study.RESOLVED_METHODS}
    three |= {(0.4, "wat01", "oracle", MATCH_WATC, "train"), (0.0, "cce", None, None, None),
              (0.0, "watc", None, None, "train")}
    assert {arm for arm, n in seeds.items() if n == 8} == eight
    assert {arm for arm, n in seeds.items() if n == 3} == three
    assert set(seeds) == eight | three
    assert {c.seed for c in configs if seeds[_arm(c)] == 3} == {0, 1, 2}


def test_the_wat_runs_use_trainings_solver_and_the_arm_the_released_codes():
    configs = _study().study_configs()
    wat = [c for c in configs if c.method in WAT_METHODS]
    assert {c.ot for c in wat} == {OT_PRESETS["train"], OT_PRESETS["released"]}
    released = OT_PRESETS["released"]
    assert released.solver == "sinkhorn" and released.max_iter == 20 and released.tol == 0
    assert all(c.ot is None for c in configs if c.method not in WAT_METHODS)


def test_each_seed_starts_with_the_cce_run_the_others_need():
    configs = _study().study_configs()
    for seed in range(8):
        mine = [c for c in configs if c.seed == seed]
        assert mine[0].method == "cce" and mine[0].noise == 0.4
        # every run that needs a CCE run needs this seed's 40% CCE run, which comes first
        assert {reference_config(c).key() for c in mine if reference_config(c) is not None} == {mine[0].key()}
    # seeds 0 to 2 of everything come before seed 3
    first = [c.seed for c in configs]
    assert first == sorted(first)


def _verifier():
    spec = importlib.util.spec_from_file_location("verify_study", ROOT / "experiments" / "verify_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_verification_reruns_each_configuration_once_up_to_its_first_regularized_epoch():
    verifier = _verifier()
    configs = _study().study_configs()
    groups = verifier.group_configurations(configs)
    assert sum(len(g) for g in groups.values()) == len(configs)
    assert len(groups) == len({_arm(c) for c in configs}) == 18
    for label, group in groups.items():
        assert [c.seed for c in group] == sorted(c.seed for c in group)
        assert len({_arm(c) for c in group}) == 1
        first = group[0]
        if first.method in ("vat", "watc", "wat01"):  # the warm-up (12 epochs) and the first regularized one
            assert verifier.verify_epochs(first) == first.warmup + 1 == 13
        elif first.method == "d2l":  # its wait, its window, the turn
            assert verifier.verify_epochs(first) > 2
        else:
            assert verifier.verify_epochs(first) == 1
        assert ("ot=" in label) == (first.ot is not None)
        assert label.endswith(("ot=train", "ot=released")) or first.ot is None


def test_the_verification_prefers_a_record_of_this_cpu_then_one_that_names_none(tmp_path):
    from watlib.records import record_path, write_record

    verifier = _verifier()
    group = next(g for label, g in verifier.group_configurations(_study().study_configs()).items()
                 if label == "cce p0.4")

    def write(seed, cpu, complete=True):
        config = group[seed]
        prov = {} if cpu is None else {"cpu": cpu}
        write_record(record_path(tmp_path, config.dataset, config.name()),
                     {"complete": complete, "config": {}, "history": [], "provenance": prov})
        return config.name() + ".json"

    assert verifier.pick_record(group, tmp_path, "A") == (None, "no record of this CPU")
    write(0, "B")
    assert verifier.pick_record(group, tmp_path, "A") == (None, "no record of this CPU")
    unnamed = write(2, None)
    write(1, None, complete=False)  # an unfinished record is never picked
    path, why = verifier.pick_record(group, tmp_path, "A")
    assert (path.name, why) == (unnamed, "the record names no CPU")
    mine = write(5, "A")
    path, why = verifier.pick_record(group, tmp_path, "A")
    assert (path.name, why) == (mine, "made on this CPU")
