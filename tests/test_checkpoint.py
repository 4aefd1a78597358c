"""Save and load a model: identical predictions after a round trip; anything else is a CheckpointError."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save as st_save

from core import checkpoint
from core.checkpoint import CheckpointError
from core.studies import get_study, run_study
from core.training import predict


def trained(study_id: str, **values):
    [r] = run_study(get_study(study_id), values)
    assert r.status == "ok"
    return r


def test_round_trip_gives_identical_predictions(tmp_path):
    r = trained("classification", dataset="moons", hidden=16, depth=2, dropout=0.3, batch_norm=True, epochs=3,
                n_train=80, n_test=40)
    path = tmp_path / "model.safetensors"
    checkpoint.save(path, r.model, r.study, r.config)
    model, study_id, config = checkpoint.load(path)
    assert study_id == "classification" and config == r.config
    assert not model.training  # loaded ready to predict: dropout off, batch-norm running statistics used
    X = torch.randn(50, 2)
    assert torch.equal(predict(model, X), predict(r.model, X))
    state = r.model.state_dict()
    assert any("running_mean" in k for k in state)
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k])


def test_round_trip_of_a_fold_run_and_from_bytes(tmp_path):
    [first, _] = run_study(get_study("polynomial"), {"epochs": 3, "degree": 4}, folds=2)
    blob = checkpoint.to_bytes(first.model, first.study, first.config, {"n_inputs": 5})
    study_id, config, state, info = checkpoint.from_bytes(blob)
    assert (study_id, config["fold"], info) == ("polynomial", 0, {"n_inputs": 5})
    model, _, _ = checkpoint.rebuild(blob)
    X = torch.randn(10, 5)
    assert torch.equal(predict(model, X), predict(first.model, X))


def test_scratch_regression_round_trip(tmp_path):
    r = trained("linear-regression", epochs=2)
    path = tmp_path / "scratch.safetensors"
    checkpoint.save(path, r.model, r.study, r.config)
    model, _, _ = checkpoint.load(path)
    assert torch.equal(model.w, r.model.w) and torch.equal(model.b, r.model.b)


def _safetensors(meta: dict | None, tensors: dict | None = None) -> bytes:
    return st_save(tensors or {"w": torch.zeros(2)}, metadata=meta)


CASES = {  # what the message must say
    "text": "not an Overfit Lab model",
    "empty": "not an Overfit Lab model",
    "pickle": "not an Overfit Lab model",
    "plain safetensors": "not an Overfit Lab model",
    "unknown study": "unknown study 'nope'",
    "bad config": "degree",
    "wrong shapes": "do not fit",
    "truncated": "not an Overfit Lab model",
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_file_that_is_not_a_model_gives_checkpoint_error(tmp_path, case):
    good = checkpoint.to_bytes(trained("polynomial", epochs=1).model, "polynomial", get_study("polynomial").defaults())
    header = {"format": checkpoint.FORMAT, "study": "polynomial", "config": json.dumps(get_study("polynomial").defaults()), "data": "{}"}
    blob = {
        "text": b"hello, I am not a model",
        "empty": b"",
        "pickle": b"\x80\x04\x95" + b"\x00" * 40,
        "plain safetensors": _safetensors(None),
        "unknown study": _safetensors({**header, "study": "nope"}),
        "bad config": _safetensors({**header, "config": json.dumps({"degree": 99})}),
        "wrong shapes": _safetensors(header, {"1.weight": torch.zeros(3, 3)}),
        "truncated": good[: len(good) - 5],
    }[case]
    path = tmp_path / "model.safetensors"
    path.write_bytes(blob)
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(path)
    assert CASES[case] in str(info.value)


def test_missing_file_gives_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        checkpoint.load(tmp_path / "nothing.safetensors")
