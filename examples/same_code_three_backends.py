"""Run the same array code on every installed Ember backend and check the answers agree.

    uv run python examples/same_code_three_backends.py

The computation is a small but complete slice of ember: a two-layer network with softmax
cross-entropy and its gradients from a GradientTape (each backend's own engine: ember's VJP
rules on NumPy, torch.autograd, MLX's vjp), an attention step, an FFT, a linear solve and a
cumulative sum. Inputs come from NumPy so that every backend sees identical numbers.
"""

from __future__ import annotations

import ember
import numpy as np


def compute() -> dict[str, float]:
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((8, 16)).astype(np.float32))
    w1 = ember.Variable(rng.standard_normal((16, 32)).astype(np.float32) / 4, name="w1")
    w2 = ember.Variable(rng.standard_normal((32, 4)).astype(np.float32) / 6, name="w2")
    labels = ember.tensor([0, 1, 2, 3, 0, 1, 2, 3])

    with ember.GradientTape() as tape:  # watches w1 and w2 as they are read
        hidden = ember.nn.gelu(x @ w1)
        logits = ember.nn.layer_norm(hidden) @ w2
        loss = ember.nn.cross_entropy(logits, labels, label_smoothing=0.1)
    g1, g2 = tape.gradient(loss, [w1, w2])
    accuracy = ember.mean(ember.astype(ember.argmax(logits, axis=-1) == labels, ember.float32))

    q = ember.reshape(hidden[:, :16], (1, 8, 16))
    attended = ember.nn.scaled_dot_product_attention(q, q, q, is_causal=True)
    spectrum = ember.abs(ember.fft.rfft(x[0]))
    a = ember.tensor([[4.0, 1.0], [1.0, 3.0]])
    solution = ember.linalg.solve(a, ember.tensor([1.0, 2.0]))
    running = ember.cumulative_sum(ember.arange(1, 6))
    return {
        "loss": float(loss),
        "grad norm w1": float(ember.linalg.vector_norm(g1)),
        "grad norm w2": float(ember.linalg.vector_norm(g2)),
        "accuracy": float(accuracy),
        "attention checksum": float(ember.sum(attended)),
        "spectrum peak": float(ember.max(spectrum)),
        "solve x0": float(solution[0]),
        "cumsum last": float(running[-1]),
    }


def main() -> None:
    names = [b.name for b in ember.backends(probe=False)]
    results = {}
    for name in names:
        with ember.use_backend(name):
            results[name] = compute()
    keys = list(next(iter(results.values())))
    print(f"{'quantity':20s}" + "".join(f"{n:>14s}" for n in names))
    for k in keys:
        print(f"{k:20s}" + "".join(f"{results[n][k]:14.6f}" for n in names))
    ref = results[names[0]]
    worst = max(abs(r[k] - ref[k]) / max(1.0, abs(ref[k])) for r in results.values() for k in keys)
    status = "agree" if worst < 1e-4 else "DISAGREE"
    print(f"\nall {len(names)} backends {status} (largest relative difference {worst:.1e})")
    if worst >= 1e-4:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
