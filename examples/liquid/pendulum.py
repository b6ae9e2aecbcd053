"""A damped, driven pendulum observed at irregular times: the data of ``pendulum.toml``.

    theta'' = -omega0**2 sin(theta) - damping theta' + drive cos(drive_freq t)

Each sequence starts at t = 0 from a random angle and angular velocity and is observed at
``STEPS + 1`` times with random gaps between them (uniform in ``GAPS`` seconds); the
observations carry Gaussian noise. Step k of a sample is

    inputs  (theta, omega) observed at t[k-1] (noisy), gap = t[k] - t[k-1]
    target  (theta, omega) at t[k] (exact)

so the model must carry the pendulum forward over a gap it is told: the last input feature is
that gap, which a ``SequenceRegressor`` with ``timespans = "last_feature"`` hands to its
recurrent layer as ``timespans``. The trajectories are integrated with SciPy's ``solve_ivp``
(RK45, tolerances 1e-8) from a fixed seed, so every backend trains on the same numbers.
"""

from __future__ import annotations

import numpy as np

SEQUENCES = 256          # samples (the config's test_size splits them)
STEPS = 32               # observations per sample after the first
GAPS = (0.05, 0.45)      # seconds between observations, drawn uniformly
NOISE = 0.02             # standard deviation of the observation noise (rad, rad/s)
OMEGA0, DAMPING, DRIVE, DRIVE_FREQ = 2.0, 0.25, 0.6, 1.3
SEED = 0


def rhs(t: float, s: np.ndarray) -> list[float]:
    theta, omega = s
    return [omega, -OMEGA0**2 * np.sin(theta) - DAMPING * omega + DRIVE * np.cos(DRIVE_FREQ * t)]


def simulate(rng: np.random.Generator, steps: int = STEPS) -> tuple[np.ndarray, np.ndarray]:
    """One trajectory: observation times (steps + 1) and the exact states there, (steps+1, 2)."""
    from scipy.integrate import solve_ivp

    times = np.concatenate([[0.0], np.cumsum(rng.uniform(*GAPS, size=steps))])
    start = [rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)]
    sol = solve_ivp(rhs, (0.0, times[-1]), start, t_eval=times, rtol=1e-8, atol=1e-8)
    return times, sol.y.T


def load(sequences: int = SEQUENCES, steps: int = STEPS, seed: int = SEED
         ) -> tuple[list[list[list[float]]], list[list[list[float]]]]:
    """``(inputs, targets)``: inputs (sequences, steps, 3) = noisy (theta, omega) at the
    previous observation and the gap to this one; targets (sequences, steps, 2) = the exact
    (theta, omega) at this observation."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for _ in range(sequences):
        times, states = simulate(rng, steps)
        observed = states + rng.normal(0.0, NOISE, size=states.shape)
        gaps = np.diff(times)[:, None]
        xs.append(np.concatenate([observed[:-1], gaps], axis=1).tolist())
        ys.append(states[1:].tolist())
    return xs, ys
