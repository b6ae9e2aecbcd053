"""``from_csv``: the rows of a CSV file (Python's ``csv`` module) as tensors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ember

from .._core._errors import ConfigError
from ._dataset import Dataset
from ._errors import DataError

__all__ = ["from_csv"]


def _dtype(value: Any) -> ember.DType | None:
    if value is None or isinstance(value, ember.DType):
        return value
    if isinstance(value, str) and isinstance(getattr(ember, value, None), ember.DType):
        return getattr(ember, value)
    raise ConfigError(f"from_csv: dtype must be an ember dtype or its name ('float32', 'int64'), "
                      f"or None to keep the fields as strings, got {value!r}")


class CsvSource(Dataset):
    """One element a data row: a tensor per column group (see ``from_csv``)."""

    def __init__(self, path: Path, groups: list[tuple[list[int], bool]],
                 dtypes: list[ember.DType | None], header: bool, delimiter: str,
                 single: bool, name: str) -> None:
        super().__init__()
        self.path, self.groups, self.dtypes = path, groups, dtypes
        self.header, self.delimiter, self.single, self.name = header, delimiter, single, name

    def _describe(self) -> str:
        return self.name

    def _iterate(self, epoch: int) -> Iterator[Any]:
        import csv

        with self.path.open(newline="") as f:
            reader = csv.reader(f, delimiter=self.delimiter)
            if self.header:
                next(reader, None)
            index = 0
            for row in reader:
                if not row:
                    continue  # a blank line holds no sample
                parts: list[Any] = []
                for (cols, scalar), dtype in zip(self.groups, self.dtypes, strict=True):
                    try:
                        fields = [row[c] for c in cols]
                        if dtype is None:
                            parts.append(fields[0] if scalar else fields)
                            continue
                        values = [_parse(v, dtype) for v in fields]
                        parts.append(ember.asarray(values[0] if scalar else values, dtype=dtype))
                    except (IndexError, ValueError, ember.EmberError) as e:
                        raise DataError(
                            f"{self.name}: line {reader.line_num} (sample {index}, epoch "
                            f"{epoch}) cannot be read: {type(e).__name__}: {e}; the row is "
                            f"{row!r}", stage=self.name, index=index, epoch=epoch) from e
                yield parts[0] if self.single else tuple(parts)
                index += 1


def _parse(text: str, dtype: ember.DType) -> Any:
    text = text.strip()
    if dtype == ember.bool:
        low = text.lower()
        if low in ("1", "true", "yes"):
            return True
        if low in ("0", "false", "no"):
            return False
        raise ValueError(f"{text!r} is not a bool (1/0, true/false, yes/no)")
    if dtype.is_integer:
        return int(text)
    return complex(text) if dtype.is_complex else float(text)


def from_csv(path: Any, columns: Any = None, *, header: bool = True, dtype: Any = "float32",
             delimiter: str = ",") -> Dataset:
    """A dataset of the rows of a CSV file.

    Arguments:
        path: the file.
        columns: which columns make a sample: None (all, as one 1-D tensor), a list of names
            (with a header) or indices (one 1-D tensor), one name or index (a scalar), or a
            tuple of those (a tuple of tensors: ``(["x1", "x2"], "label")`` gives
            ``(features, label)``).
        header: the first line names the columns (it is not a sample).
        dtype: the ember dtype of the tensors (or its name), None to keep strings, or a tuple
            with one per column group (``("float32", "int64")``).
        delimiter: the field separator.

    Errors: ``ConfigError`` for a missing file or an unknown column (naming the ones there
    are); a field that does not parse is a ``DataError`` naming the line and sample index.

    >>> import tempfile
    >>> p = tempfile.mktemp(suffix=".csv")
    >>> _ = open(p, "w").write("a,b,label\\n1,2,0\\n3,4,1\\n")
    >>> [(x.tolist(), int(y)) for x, y in from_csv(p, (["a", "b"], "label"),
    ...                                            dtype=("float32", "int64"))]
    [([1.0, 2.0], 0), ([3.0, 4.0], 1)]
    """
    import csv

    p = Path(path)
    name = f"from_csv({str(path)!r})"
    if not p.is_file():
        raise ConfigError(f"{name}: no such file")
    if not isinstance(header, bool):
        raise ConfigError(f"from_csv: header must be True or False, got {header!r}")
    with p.open(newline="") as f:
        first = next(csv.reader(f, delimiter=delimiter), None)
    if first is None:
        raise ConfigError(f"{name}: the file is empty")
    names = [c.strip() for c in first] if header else []
    width = len(first)

    def resolve(col: Any) -> int:
        if isinstance(col, str):
            if not header:
                raise ConfigError(f"{name}: column {col!r} is a name but header=False; use "
                                  f"column indices")
            if col not in names:
                raise ConfigError(f"{name}: no column {col!r}; the header has {names}")
            return names.index(col)
        if isinstance(col, bool) or not isinstance(col, int) or not -width <= col < width:
            raise ConfigError(f"{name}: column {col!r} is neither a name nor an index in "
                              f"[0, {width})")
        return col % width

    single = type(columns) is not tuple
    specs = [columns] if single else list(columns)
    groups: list[tuple[list[int], bool]] = []
    for spec in specs:
        if spec is None:
            groups.append((list(range(width)), False))
        elif isinstance(spec, str | int):
            groups.append(([resolve(spec)], True))
        else:
            groups.append(([resolve(c) for c in spec], False))
    dtypes = ([_dtype(d) for d in dtype] if type(dtype) is tuple else [_dtype(dtype)] * len(groups))
    if len(dtypes) != len(groups):
        raise ConfigError(f"from_csv: {len(dtypes)} dtypes for {len(groups)} column groups; give "
                          f"one dtype, or one per group")
    return CsvSource(p, groups, dtypes, header, delimiter, single, name)
