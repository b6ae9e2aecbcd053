"""The audio and text examples (examples/audio, examples/text) end to end through ``ember
train``, on a tiny setting: the example's own config with smaller data and model, written as
JSON beside a loader that calls the example's loader with smaller arguments. Also the
``[model] layers`` and ``[output] tokenizer``/``generate`` keys the text example uses."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import ember
import ember_nn
import numpy as np
import pytest
from ember._cli import main
from ember_nn import ConfigError
from ember_nn.features import Tokenizer
from ember_nn.io._checkpoint import load_checkpoint
from ember_nn.pipelines._run import build_model, read_config, train_from_config

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
AUDIO = EXAMPLES / "audio"
TEXT = EXAMPLES / "text"


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _tiny_run(tmp: Path, example: Path, loader: str, changes: dict[str, dict[str, Any]]) -> Path:
    """The example's config with ``changes`` merged into its tables and ``loader`` (Python
    source defining ``load()``) as its data loader, written as JSON into ``tmp``."""
    cfg = read_config(example)
    (tmp / "tiny_loader.py").write_text(loader)
    cfg["data"]["loader"] = "tiny_loader.py:load"
    for table, values in changes.items():
        cfg[table].update(values)
    path = tmp / "run.json"
    path.write_text(json.dumps(cfg))
    return path


# -- audio --------------------------------------------------------------------------------

AUDIO_LOADER = f"""
import importlib.util
spec = importlib.util.spec_from_file_location("_tiny_sounds", {str(AUDIO / "sounds.py")!r})
sounds = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sounds)

def load():
    return sounds.load_waveforms(clips_per_class=40)
"""


def test_audio_features_are_librosas_log_mel_in_db(backend: str) -> None:
    librosa = pytest.importorskip("librosa")
    sounds = _module(AUDIO / "sounds.py")
    waves, labels = sounds.waveforms(clips_per_class=2)
    assert waves.shape == (12, sounds.SAMPLES) and waves.dtype == np.float32
    assert labels.tolist() == [0, 1, 2, 3, 4, 5] * 2
    got = sounds.features(waves)
    assert got.shape == (12, 1 + sounds.SAMPLES // sounds.HOP, sounds.N_MELS)
    for i in (0, 4, 11):
        mel = librosa.feature.melspectrogram(y=waves[i].astype(np.float64),
                                             sr=sounds.SAMPLE_RATE, n_fft=sounds.N_FFT,
                                             hop_length=sounds.HOP, n_mels=sounds.N_MELS)
        want = librosa.power_to_db(mel, ref=np.max, top_db=60.0).T
        np.testing.assert_allclose(ember.astype(got[i], ember.float64).numpy(), want,
                                   atol=2e-3 if backend != "numpy" else 1e-3)


def test_audio_clips_are_reproducible_and_distinct() -> None:
    sounds = _module(AUDIO / "sounds.py")
    a, _ = sounds.waveforms(clips_per_class=3, seed=1)
    b, _ = sounds.waveforms(clips_per_class=3, seed=1)
    np.testing.assert_array_equal(a, b)
    assert np.all(np.isfinite(a)) and 0.005 < float(np.abs(a).max()) < 4.0
    # a tone's energy is at one pitch, a chirp's moves: the peak frequency bin of the
    # first and last quarter of the sounding part agree for a tone, not for a chirp
    rng = np.random.default_rng(3)
    for kind, moves in ((0, False), (1, True), (2, True)):
        x = sounds.clip(kind, rng)
        n = len(x) // 8
        first = np.argmax(np.abs(np.fft.rfft(x[2 * n:3 * n])))
        last = np.argmax(np.abs(np.fft.rfft(x[5 * n:6 * n])))
        assert (abs(int(first) - int(last)) > 2) == moves, (kind, first, last)


def test_audio_example_trains_above_chance(backend: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    run = _tiny_run(tmp_path, AUDIO / "sounds.toml", AUDIO_LOADER, {
        "optimizer": {"learning_rate": 0.004}, "training": {"validation_split": 0.0}})
    out = tmp_path / "audio"
    assert main(["train", str(run), "--backend", backend, "--output", str(out), "--epochs",
                 "25", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "on tiny_loader.py:load with " + backend in text
    metrics = json.loads((out / "metrics.json").read_text())
    # 48 test clips of 6 classes: chance is 1/6; the full example reaches 0.89
    assert metrics["test"]["accuracy"] >= 0.45, metrics
    assert metrics["final"]["loss"] < math.log(6) - 0.5, metrics
    # the saved [pipeline] computes the features from raw clips: `ember predict` on raw audio
    # gives what the model gives on the example's own features, scaled as in training
    sounds = _module(AUDIO / "sounds.py")
    waves, _ = sounds.waveforms(clips_per_class=1, seed=9)
    np.savetxt(tmp_path / "clips.csv", waves, delimiter=",")
    assert main(["predict", str(out / "checkpoint"), "--input", str(tmp_path / "clips.csv"),
                 "--backend", backend]) == 0
    got = [json.loads(line)["class"] for line in capsys.readouterr().out.splitlines()]
    with ember.use_backend(backend):
        ck = load_checkpoint(out / "checkpoint", backend=backend)
        scaling = ck.extra["scaling"]
        x = (sounds.features(waves) - ember.asarray(scaling["mean"])) \
            / ember.asarray(scaling["std"])
        want = ember.argmax(ck.model(ember.astype(x, ember.float32)), axis=-1).tolist()
    assert got == want


def test_audio_pipeline_table_is_the_examples_features(backend: str) -> None:
    from ember_nn.pipelines import FeaturePipeline

    sounds = _module(AUDIO / "sounds.py")
    waves, _ = sounds.waveforms(clips_per_class=1, seed=3)
    table = read_config(AUDIO / "sounds.toml")["pipeline"]
    got = FeaturePipeline.from_config(table).run_batch(list(waves))
    np.testing.assert_allclose(got.numpy(), sounds.features(waves).numpy(), rtol=1e-4, atol=1e-3)


# -- text ---------------------------------------------------------------------------------

TEXT_LOADER = f"""
import importlib.util
from pathlib import Path
spec = importlib.util.spec_from_file_location("_tiny_docs", {str(TEXT / "docs_corpus.py")!r})
docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(docs)

def load():
    files = [f for f in docs.corpus_files() if f.name == "architecture.md"]
    return docs.load(files, vocab_size=300, block=32)
"""

TINY_LM: dict[str, dict[str, Any]] = {"data": {"test_size": 0.2},
           "model": {"dim": 32, "max_length": 32, "vocab_size": 300},
           "optimizer": {"learning_rate": 0.01},
           "output": {"generate": {"prompt": "The model", "tokens": 24, "temperature": 0.8,
                                   "samples": 2}}}


def test_text_example_trains_and_generates(backend: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tokenizers")
    monkeypatch.chdir(tmp_path)  # the loader saves runs/text/tokenizer.json under it
    run = _tiny_run(tmp_path, TEXT / "docs_lm.toml", TEXT_LOADER, TINY_LM)
    assert main(["train", str(run), "--backend", backend, "--epochs", "4",
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    out = tmp_path / "runs" / "text"
    tok = Tokenizer.load(out / "tokenizer.json")
    assert tok.kind == "bpe" and tok.vocab_size <= 300
    rows = (out / "history.csv").read_text().splitlines()[1:]
    losses = [float(row.split(",")[1]) for row in rows]
    assert losses[0] < math.log(300) + 0.5 and losses[-1] < losses[0] - 0.5, losses
    samples = (out / "samples.txt").read_text(encoding="utf-8")
    assert samples in printed
    parts = samples.split("--- sample ")
    assert parts[0] == "" and len(parts) == 3
    texts = [p.split(" ---\n", 1)[1][:-1] for p in parts[1:]]
    for t in texts:
        assert t.startswith("The model") and len(t) > len("The model")
    # the text is what the saved model generates, decoded with the saved tokenizer
    ck = load_checkpoint(out / "checkpoint", backend=backend)
    lm: Any = ck.model
    prompt = ember.asarray([tok.encode("The model")], dtype=ember.int64)
    for i, t in enumerate(texts):
        ids = lm.eval().generate(prompt, 24, temperature=0.8, key=i)
        assert ids.shape == (1, prompt.shape[1] + 24)
        assert tok.decode(ids[0]) == t


def _int_loader(tmp: Path) -> None:
    (tmp / "ids.py").write_text(
        "def load():\n"
        "    x = [[(i + j) % 5 + 4 for j in range(8)] for i in range(20)]\n"
        "    return x, [[(v + 1) % 5 + 4 for v in r] for r in x]\n")


def _lm_config(**output: Any) -> dict[str, Any]:
    return {"data": {"source": "python", "loader": "ids.py:load", "dtype": "int64",
                     "scale": "none"},
            "model": {"class": "LanguageModel", "layers": ["mlp"], "vocab_size": 10, "dim": 8,
                      "max_length": 8},
            "optimizer": {"class": "Adam", "learning_rate": 0.01},
            "training": {"epochs": 1, "batch_size": 8,
                         "loss": "sparse_categorical_cross_entropy"},
            "output": {"plot": False, **output}}


def test_model_layers_build_through_from_layers() -> None:
    with ember_nn.seeded(0):
        model = build_model({"class": "LanguageModel", "vocab_size": 11, "dim": 8,
                             "max_length": 16,
                             "layers": [{"name": "mh-attention", "num_heads": 2}, "swiglu"]})
    with ember_nn.seeded(0):
        want = ember_nn.blocks.LanguageModel.from_layers(
            [{"name": "mh-attention", "num_heads": 2}, "swiglu"], vocab_size=11, dim=8,
            max_length=16)
    assert model.get_config() == want.get_config()
    ids = ember.asarray([[1, 2, 3]])
    np.testing.assert_array_equal(model(ids).numpy(), want(ids).numpy())
    with pytest.raises(ConfigError, match=r"class = 'MLP' has none.*LanguageModel"):
        build_model({"class": "MLP", "layers": ["mlp"]})
    with pytest.raises(ConfigError, match=r"LanguageModel.from_layers: .*'hidden'"):
        build_model({"class": "LanguageModel", "layers": ["mlp"], "vocab_size": 4,
                     "hidden": 3})


def test_generate_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _int_loader(tmp_path)
    Tokenizer.characters(["abcdef"]).save(tmp_path / "tok.json")  # 10 ids

    def run(cfg: dict[str, Any]) -> Any:
        return train_from_config(cfg, base_dir=tmp_path, output_dir=tmp_path / "out",
                                 progress=False)

    with pytest.raises(ConfigError, match="generate needs \\[output\\] tokenizer"):
        run(_lm_config(generate=True))
    with pytest.raises(ConfigError, match="no such file"):
        run(_lm_config(tokenizer="missing.json", generate=True))
    with pytest.raises(ConfigError, match=r"unknown keys \['length'\]"):
        run(_lm_config(tokenizer="tok.json", generate={"length": 3}))
    with pytest.raises(ConfigError, match="tokens must be a positive int"):
        run(_lm_config(tokenizer="tok.json", generate={"tokens": 0}))
    with pytest.raises(ConfigError, match="temperature must be a number >= 0"):
        run(_lm_config(tokenizer="tok.json", generate={"temperature": -1}))
    small = _lm_config(tokenizer="tok.json", generate=True)
    small["model"]["vocab_size"] = 9
    with pytest.raises(ConfigError, match="10 tokens, more than the model's vocab_size = 9"):
        run(small)
    mlp = _lm_config(tokenizer="tok.json", generate=True)
    mlp["model"] = {"class": "MLP", "in_features": 8, "hidden": [4], "out_features": 8}
    mlp["data"]["dtype"] = "float32"
    with pytest.raises(ConfigError, match="MLP has no generate method"):
        run(mlp)
    assert not (tmp_path / "out" / "checkpoint").exists()  # all fail before training
    # greedy, an empty prompt (starts from eos), the tokenizer saved beside the checkpoint
    result = run(_lm_config(tokenizer="tok.json",
                            generate={"prompt": "", "tokens": 5, "temperature": 0}))
    text = (tmp_path / "out" / "samples.txt").read_text()
    assert result.samples == tmp_path / "out" / "samples.txt"
    assert text.startswith("--- sample 1: prompt '', 5 tokens, temperature 0 ---\n<eos>")
    assert Tokenizer.load(tmp_path / "out" / "tokenizer.json").vocab_size == 10
