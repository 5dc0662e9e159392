"""How `backend = "auto"` reads its timings (no models): paired rounds give each engine a speed-up
with an interval; the CPU class's prior stays unless another engine that keeps the output is faster
beyond doubt; contested engines get more rounds; an engine that fails the accuracy bar is not timed;
the stored verdict carries the intervals; a background measurement serves on the prior once it is ready."""

import json
import time

import numpy as np
import pytest

from ragate.scoring.engines import choice
from ragate.scoring.engines.choice import SCORES, Timings, pick

EXACT = {"spearman": 1.0, "max_error": 0.0}


def timings(seconds: dict[str, list[float]], agreement: dict[str, dict[str, float]] | None = None) -> Timings:
    names = list(seconds)
    rounds = [{n: seconds[n][i] for n in names} for i in range(len(seconds[names[0]]))]
    return Timings({n: (agreement or {}).get(n, EXACT) for n in names}, rounds)


def test_a_steady_speed_up_is_beyond_doubt_and_a_noisy_one_is_not():
    t = timings({"torch": [4.0, 4.1, 3.9, 4.0, 4.2], "onnx-int8": [2.0, 2.1, 2.0, 1.9, 2.1], "onnx": [2.0, 6.0, 2.5, 5.5, 3.0]})
    speedup, low, high = t.speedup("onnx-int8", "torch")
    assert 1.9 < low < speedup < high < 2.1
    speedup, low, high = t.speedup("onnx", "torch")
    assert speedup > 1.1 and low < 1 < high  # faster on average, but not beyond doubt
    assert choice.contested(t, "torch") == ["onnx"]
    engine, why = pick(t, reference="torch", base="torch", bar=SCORES)
    assert engine == "onnx-int8"
    assert "onnx-int8 x2.00 [1.94-2.06] 5 rounds" in why


def test_the_prior_stays_unless_an_engine_is_faster_beyond_doubt():
    # The machine was busy while bf16 ran in round 2: best-of timings would have said torch, paired ratios do not.
    t = timings({"torch": [4.0, 4.0, 4.1, 3.9, 4.0], "openvino-bf16": [1.1, 5.0, 1.0, 1.2, 1.1], "openvino": [3.4, 3.5, 3.3, 3.6, 3.4]})
    assert pick(t, reference="torch", base="openvino-bf16", bar=SCORES)[0] == "openvino-bf16"
    engine, why = pick(t, reference="torch", base="openvino-bf16", bar=SCORES)
    assert why.startswith("openvino-bf16, the prior for this CPU")
    # A prior that is clearly slower is replaced.
    t = timings({"torch": [4.0, 4.1, 3.9, 4.0, 4.0], "openvino-bf16": [8.0, 8.2, 7.9, 8.1, 8.0]})
    assert pick(t, reference="torch", base="openvino-bf16", bar=SCORES)[0] == "torch"


def test_within_the_tie_the_engine_closest_to_fp32_wins_and_a_failing_one_is_not_timed():
    agreement = {"openvino-int8": {"spearman": 0.995, "max_error": 0.2}, "openvino-bf16": {"spearman": 0.9995, "max_error": 0.05}}
    t = timings(
        {"torch": [4.0] * 5, "openvino-int8": [1.0, 1.01, 0.99, 1.0, 1.0], "openvino-bf16": [1.05, 1.06, 1.04, 1.05, 1.05]}, agreement
    )
    assert pick(t, reference="torch", base="torch", bar=SCORES)[0] == "openvino-bf16"

    def output(values):
        return lambda: np.asarray(values, dtype=np.float32)

    reference = [0.1, 0.5, 0.9, 1.3]
    outputs = {"torch": output(reference), "onnx": output(reference), "onnx-int8": output([1.3, 0.9, 0.5, 0.1])}
    measured = choice.measure(outputs, reference="torch", bar=SCORES, rounds=3)
    assert measured.timed == ["torch", "onnx"] and len(measured.rounds) == 3
    engine, why = pick(measured, reference="torch", base="torch", bar=SCORES)
    assert "rejected for accuracy: onnx-int8 (rho -1.000" in why
    assert "seconds" not in measured.figures("torch")["onnx-int8"]


def test_choose_stores_intervals_and_times_contested_engines_again(tmp_path, monkeypatch):
    # Engines whose times are made by sleeping: onnx is 3x faster every round; onnx-int8 is
    # faster on average but erratic, so it is timed in more rounds than the others.
    monkeypatch.setattr(choice, "cpu_flags", lambda: set())
    rng = np.random.default_rng(0)
    sleeps = {"torch": lambda: 0.03, "onnx": lambda: 0.01, "onnx-int8": lambda: float(rng.choice([0.012, 0.04]))}

    def build(name):
        def run():
            time.sleep(sleeps[name]())
            return np.arange(4, dtype=np.float32)

        return run

    path = tmp_path / "model.engine.json"
    engine, why = choice.choose(path, threads=2, candidates=["torch", "onnx", "onnx-int8"], build=build, bar=SCORES, label="reranker")
    assert engine == "onnx"
    verdict = json.loads(path.read_text())
    onnx = verdict["measured"]["onnx"]
    assert onnx["rounds"] == choice.MIN_ROUNDS and 1 < onnx["low"] <= onnx["speedup"] <= onnx["high"]
    assert verdict["measured"]["torch"]["speedup"] == 1.0
    assert verdict["measured"]["onnx-int8"]["rounds"] > choice.MIN_ROUNDS
    assert verdict["why"] == why


def test_a_background_measurement_switches_to_the_prior_first(tmp_path, monkeypatch):
    # A CPU with bf16 units: the prior is ready long before the measurement's verdict, and serves meanwhile.
    if not choice.cpu_engines.available("openvino-bf16"):
        pytest.skip("needs OpenVINO")
    monkeypatch.setattr(choice, "cpu_flags", lambda: {"avx512_bf16"})
    sleeps = {"torch": 0.02, "onnx": 0.015, "openvino-bf16": 0.005}
    switched: list[tuple[str, str]] = []

    def build(name):
        def run():
            time.sleep(sleeps[name])
            return np.arange(4, dtype=np.float32)

        return run

    later = choice.Later(lambda engine, why: switched.append((engine, why)))
    path = tmp_path / "model.engine.json"
    engine, why = choice.choose(
        path, threads=2, candidates=["torch", "onnx", "openvino-bf16"], build=build, bar=SCORES, label="embedder", later=later
    )
    assert engine == "torch" and "background" in why  # answers at once
    assert later.done.wait(60) and not later.pending
    assert switched[0] == ("openvino-bf16", "openvino-bf16, the prior for this CPU, while the other engines are measured in the background")
    assert switched[-1][0] == "openvino-bf16" and switched[-1][1] == json.loads(path.read_text())["why"]
    # Measured again (`ragate engines --measure`), it keeps the engine it has until the verdict.
    path.unlink()
    switched.clear()
    again = choice.Later(lambda engine, why: switched.append((engine, why)), prior_first=False)
    choice.choose(path, threads=2, candidates=["torch", "onnx", "openvino-bf16"], build=build, bar=SCORES, label="embedder", later=again)
    assert again.done.wait(60) and len(switched) == 1 and switched[0][1] == json.loads(path.read_text())["why"]
