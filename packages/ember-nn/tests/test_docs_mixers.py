"""docs/mixers.md shows real output: its python blocks, run in order on NumPy (the default
backend) from the repository root, print exactly the text blocks that follow them; the training
example's losses and generated tokens, which depend on the BLAS build's rounding over 150 steps,
are checked for what they show (the loss falls below 0.05; each generated sequence continues its
prompt's motif) rather than digit by digit."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import re
from pathlib import Path

import ember
import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "mixers.md"


def _blocks() -> list[tuple[str, str | None]]:
    """(code, the output shown after it: a ```text block or, for the table, the markdown)."""
    text = DOC.read_text()
    out = []
    for m in re.finditer(r"```python\n(.*?)```\n", text, flags=re.S):
        rest = text[m.end():].split("```python\n")[0]  # up to the next code block
        shown = re.search(r"```text\n(.*?)```\n", rest, flags=re.S)
        table = re.match(r"\nThe table this prints:\n\n((?:\|.*\n)+)", rest)
        out.append((m.group(1), shown.group(1) if shown else table.group(1) if table else None))
    return out


@pytest.mark.skipif(not DOC.exists(), reason="docs/ is not shipped with the package")
def test_python_blocks_print_what_the_doc_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    if os.environ.get("EMBER_TEST_BACKEND", "numpy") != "numpy":
        pytest.skip("the doc's output is NumPy's: checked in the numpy session")
    monkeypatch.chdir(DOC.parents[1])
    namespace: dict[str, object] = {}
    blocks = _blocks()
    assert len(blocks) >= 6
    with ember.use_backend("numpy"):
        for code, shown in blocks:
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile(code, str(DOC), "exec"), namespace)
            if shown is not None and "compile_step(" in code:
                _check_training_output(buf.getvalue(), shown)
            elif shown is not None:
                assert buf.getvalue() == shown, code
            else:
                assert buf.getvalue() == "", code
    assert os.getcwd() == str(DOC.parents[1])


def _check_training_output(got: str, shown: str) -> None:
    """The same steps with losses that fall as the doc's do, and generated sequences that start
    with the doc's prompts and repeat their 4-token motif (at most 2 slips each)."""
    def losses(text: str) -> list[tuple[int, float]]:
        return [(int(m[0]), float(m[1])) for m in re.findall(r"step +(\d+) +loss ([\d.]+)", text)]

    mine, theirs = losses(got), losses(shown)
    assert [s for s, _ in mine] == [s for s, _ in theirs], got
    later = [v for _, v in mine[1:]]
    assert mine[0][1] > 2.0 and later[0] < 0.1 and later[-1] < 0.01, got
    assert all(b < a for a, b in itertools.pairwise(later)), got
    seqs = json.loads(got.strip().splitlines()[-1])
    shown_seqs = json.loads(shown.strip().splitlines()[-1])
    assert [q[:5] for q in seqs] == [q[:5] for q in shown_seqs], got
    for q in seqs:
        assert len(q) == 16 and sum(q[i] != q[i % 4] for i in range(16)) <= 2, q
