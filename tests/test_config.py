import json
from pathlib import Path

import pytest

from lecun98 import paper
from lecun98.config import DISTORTED, DISTORTION_OUTPUT_D2, DISTORTION_RANGES, MODERN, Config
from lecun98.errors import Lecun98Error

CHOICE = Path(__file__).resolve().parent.parent / "results" / "validation" / "choice.json"


def test_defaults_are_the_paper_and_the_validation_choices():
    c = Config()
    assert c.passes == paper.PASSES and list(c.eta) == list(paper.eta_schedule())
    assert c.mu == paper.SDLM_MU and c.hessian_patterns == paper.HESSIAN_PATTERNS
    chosen = json.loads(CHOICE.read_text())["chosen"]  # written by make validate
    for key, value in chosen.items():
        assert getattr(c, key) == value, (key, getattr(c, key), value)


def test_modern_preset_is_the_validation_choice():
    chosen = json.loads((CHOICE.parent / "modern" / "choice.json").read_text())["chosen"]
    for key, value in chosen.items():  # written by make validate
        assert MODERN[key] == value, (key, MODERN[key], value)
    Config().replace(**MODERN)  # a valid configuration


def test_distortion_settings_are_the_last_validation_round():
    round1 = json.loads((CHOICE.parent / "distortions" / "choice.json").read_text())
    choice = json.loads((CHOICE.parent / "distortions_round2" / "choice.json").read_text())
    assert choice["baseline"] == {**round1["baseline"], **round1["chosen"]}  # round 2 starts there
    chosen = {**choice["baseline"], **choice["chosen"]}  # make validate VALIDATE=distortions2
    assert tuple(chosen["distortion_ranges"]) == DISTORTION_RANGES
    assert Config().distortion_ranges == DISTORTION_RANGES and Config().distortions == 0
    assert chosen["output_d2"] == DISTORTION_OUTPUT_D2 == DISTORTED["output_d2"]
    assert Config().replace(**DISTORTED).distortion_draw == chosen["distortion_draw"]
    assert DISTORTED["distortions"] == 9  # the paper's 540,000 copies


@pytest.mark.parametrize("bad", [
    dict(loss="hinge"), dict(subsampling="max"), dict(j=-1.0), dict(j=float("nan")),
    dict(mu=0.0), dict(passes=0), dict(eta=(1e-3,)), dict(validation=60_000),
    dict(train_size=0), dict(validation=10_000, train_size=50_001), dict(threads=0),
    dict(init_exponent=0.0), dict(bias_init="ones"), dict(hessian_patterns=0),
    dict(evaluate_train="yes"), dict(activation="tanh2"), dict(pooling="sum"), dict(c3="dense"),
    dict(output="svm"), dict(output="softmax"), dict(output="rbf", loss="ce"),
    dict(optimiser="rmsprop"), dict(optimiser="sgd", batch=8), dict(optimiser="adam", batch=0),
    dict(lr=0.0), dict(input="zscore"), dict(init="lecun"), dict(distortions=-1),
    dict(distortions=21), dict(distortions=1.5), dict(distortion_ranges=(1.0, 0.1, 0.1)),
    dict(distortion_ranges=(-1.0, 0.1, 0.1, 0.1)), dict(distortion_ranges=(1.0, 0.9, 0.1, 0.1)),
    dict(distortion_ranges=(1.0, 0.1, 0.1, float("nan"))), dict(distortion_ranges="big"),
    dict(seed=-1), dict(seed=1.5), dict(seed=True),
])
def test_bad_values_are_one_clear_error(bad):
    with pytest.raises(Lecun98Error, match="bad configuration"):
        Config.from_dict(bad)


def test_passes_without_eta_takes_the_paper_schedule_prefix():
    assert Config.from_dict({"passes": 3}).eta == tuple(paper.eta_schedule(3))


def test_round_trip_and_file_errors(tmp_path):
    c = Config.from_dict(dict(j=0.5, passes=2, distortions=3, distortion_ranges=[2, 0.1, 0, 0.2]))
    assert c.distortion_ranges == (2.0, 0.1, 0.0, 0.2)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(c.to_dict()))
    assert Config.from_file(path) == c
    with pytest.raises(Lecun98Error, match="unknown configuration key"):
        Config.from_dict({"learning_rate": 1})
    path.write_text("{not json")
    with pytest.raises(Lecun98Error, match="not valid JSON"):
        Config.from_file(path)
    with pytest.raises(Lecun98Error, match="cannot read"):
        Config.from_file(tmp_path / "missing.json")
