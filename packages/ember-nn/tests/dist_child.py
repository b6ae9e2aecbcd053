"""One rank of test_distributed_training*.py's jobs (started by torchrun or mlx.launch):
``dist_child.py BACKEND --out OUT [--resume CHECKPOINT] [--slow]`` runs distributed_support's scenarios
with ``distributed=True`` and writes ``{"rank": r, "world": n, ...results}`` to
``OUT/rank{r}.json``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import distributed_support as support
import ember


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("backend")
    p.add_argument("--resume", default=None)
    p.add_argument("--slow", action="store_true")
    p.add_argument("--out", required=True, help="a folder: rank r writes rank{r}.json there")
    args = p.parse_args()
    ember.set_backend(args.backend)
    world = ember.distributed.init(timeout=60)
    out = support.scenarios(args.backend, True, world.world_size, args.resume, args.slow)
    # a file per rank: the launchers interleave long lines of several ranks' output
    path = Path(args.out) / f"rank{world.rank}.json"
    path.write_text(json.dumps({"rank": world.rank, "world": world.world_size} | out))
    ember.distributed.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
