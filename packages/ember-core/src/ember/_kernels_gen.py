"""Writes ``ember/_kernels.py``, the typed kernel table, from the op catalogue.

    uv run python -m ember._kernels_gen

The table is generated (and checked in) so that a kernel's name and arity are known to the type
checker: ``b.kernels.ad(x)`` or ``b.kernels.add(x)`` is a mypy error, not an AttributeError or a
TypeError deep in a call. ``tests/test_kernel_table.py`` fails when the file is out of date with
the catalogue; run this module after adding, removing or renaming an op.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ._catalogue import CATALOGUE, OpSpec

__all__ = ["kernel_params", "render"]

_HEADER = '''"""The kernel table: one typed field per kernel of the op catalogue (alphabetical).

GENERATED from ``ember._catalogue`` by ``python -m ember._kernels_gen``: do not edit by hand
(``tests/test_kernel_table.py`` fails when this file is out of date).

A field is the op's kernel name (``linalg.solve`` -> ``linalg_solve``), typed with the kernel's
positional parameters (``docs/ops.md`` lists them). A primitive's field always holds a callable:
the backend's kernel, or one raising ``UnsupportedError`` with the reason the backend gave. A
composite's field holds the backend's fused override, or None when ember-core's composite runs.
``basic_index`` is no op: ``x[key]`` for a key ember-core has checked to be basic (ints in
bounds, slices without a step), the backend's ``BackendHooks.basic_index`` or its ``getitem``.
"""

# No ``from __future__ import annotations`` here: NamedTuple turns string annotations into
# ForwardRefs, compiling each one (20 ms at import for ~200 fields; evaluated ones take 1 ms).
from collections.abc import Callable
from typing import Any, NamedTuple

__all__ = ["Kernels"]


class Kernels(NamedTuple):
'''


def kernel_params(spec: OpSpec) -> list[str]:
    """The parameter names of ``spec``'s kernel signature (``"(x1, x2)"`` -> ``["x1", "x2"]``)."""
    return [p.strip() for p in spec.kernel.strip("()").split(",") if p.strip()]


def _field(name: str, nparams: int, optional: bool, comment: str) -> str:
    kind = f"Callable[[{', '.join(['Any'] * nparams)}], Any]"
    line = f"    {name}: {kind}{' | None' if optional else ''}"
    return f"{line}  # {comment}" if len(line) + len(comment) + 4 <= 100 else line


def render(catalogue: Iterable[OpSpec] = CATALOGUE) -> str:
    """The source of ``ember/_kernels.py`` for ``catalogue`` (the current one by default)."""
    specs = sorted((s for s in catalogue if s.kernel != "-"), key=lambda s: s.kernel_name)
    lines = [_HEADER.rstrip("\n")]
    for spec in specs:
        params = kernel_params(spec)
        lines.append(_field(spec.kernel_name, len(params), not spec.primitive,
                            ", ".join(params) if params else "no parameters"))
    lines.append(_field("basic_index", 2, False, "x, key"))
    return "\n".join(lines) + "\n"


def main() -> None:
    path = Path(__file__).with_name("_kernels.py")
    path.write_text(render())
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
