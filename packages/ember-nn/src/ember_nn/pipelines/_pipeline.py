"""``Pipeline``: named stages applied in order, with a config (JSON or a TOML ``[pipeline]``
table) that rebuilds it; ``FeaturePipeline``: one whose output is the tensor a model takes.

The TOML form::

    [pipeline]
    [[pipeline.stages]]
    name = "features"
    kind = "normalize"
    mean = [0.5, 0.5]
    std = [0.25, 0.25]

    [[pipeline.stages]]
    name = "to_float"
    kind = "cast"
    dtype = "float32"
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import ember

from .._core._errors import ConfigError
from ..data._errors import DataError
from . import _feature_stages  # noqa: F401  (registers the audio feature stage kinds)
from ._stages import build_stage, stage_config

__all__ = ["FeaturePipeline", "Pipeline", "StageError"]


class StageError(DataError):
    """A stage raised: the message names the stage (its name and position) and the item index;
    the stage's own exception is ``__cause__``. A :class:`ember_nn.data.DataError`, so one
    ``except DataError`` catches a failure in a data pipeline and in a pipeline object alike.

    Attributes:
        stage: the stage's name.
        position: the stage's place in the pipeline (0 first; -1 for an async source).
        index: the index of the item it failed on (None for a single ``run``).
        epoch: always None (a pipeline object has no epochs).
    """

    def __init__(self, stage: str, position: int, index: int | None, cause: BaseException,
                 count: int | None = None) -> None:
        self.position = position
        where = ("the source" if position < 0 else
                 f"stage {stage!r} ({position + 1}" + (f" of {count})" if count else ")"))
        item = f" on item {index}" if index is not None else ""
        super().__init__(f"{where} failed{item}: {type(cause).__name__}: {cause}", stage=stage,
                         index=index)


def _named(stages: Any, what: str) -> list[tuple[str, Callable[[Any], Any]]]:
    """``stages`` (a list of ``(name, stage)`` pairs or a dict) as checked pairs."""
    if isinstance(stages, Mapping):
        pairs = list(stages.items())
    elif isinstance(stages, Sequence) and not isinstance(stages, str):
        pairs = []
        for i, s in enumerate(stages):
            if not (isinstance(s, tuple | list) and len(s) == 2):
                raise ConfigError(f"{what}: stage {i} must be a (name, callable) pair, got "
                                  f"{s!r}")
            pairs.append((s[0], s[1]))
    else:
        raise ConfigError(f"{what}: stages must be a list of (name, callable) pairs or a dict "
                          f"of them, got {type(stages).__name__}")
    seen: set[str] = set()
    for i, (name, fn) in enumerate(pairs):
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{what}: stage {i} needs a non-empty string name, got {name!r}")
        if name in seen:
            raise ConfigError(f"{what}: two stages are named {name!r}; names must be unique")
        if not callable(fn):
            raise ConfigError(f"{what}: stage {name!r} is {type(fn).__name__}, not callable")
        seen.add(name)
    return pairs


class Pipeline:
    """Named stages applied in order: ``run(x)`` passes one input through them all, ``map``
    many (a list of outputs) and ``run_batch`` many, stacked into one tensor.

    Arguments:
        stages: a list of ``(name, callable)`` pairs or a dict ``{name: callable}``. A callable
            is a stage object (``Cast``, ``Normalize``, ... or your ``@register_stage`` class),
            a registered function, or any function (then the pipeline runs but has no config).

    Raises ConfigError for duplicate or empty names and non-callable stages; ``run`` raises
    :class:`StageError` naming the stage and item when a stage fails.

    >>> pipe = Pipeline([("scale", Normalize(mean=2.0, std=2.0)), ("label", Argmax())])
    >>> pipe.run([0.0, 4.0, 2.0]).item()
    1
    >>> Pipeline.from_config(pipe.get_config()).get_config()["stages"][0]
    {'name': 'scale', 'kind': 'normalize', 'mean': 2.0, 'std': 2.0}
    """

    def __init__(self, stages: Any) -> None:
        self._stages = _named(stages, type(self).__name__)

    # -- running --------------------------------------------------------------------------
    def run(self, x: Any, *, index: int | None = None) -> Any:
        """``x`` through every stage in order (``index``, if given, goes into errors)."""
        n = len(self._stages)
        for pos, (name, fn) in enumerate(self._stages):
            try:
                x = fn(x)
            except Exception as e:
                raise StageError(name, pos, index, e, n) from e
        return x

    __call__ = run

    def iter(self, items: Iterable[Any]) -> Iterator[Any]:
        """Each item through the pipeline, lazily (errors name the item's index)."""
        for i, x in enumerate(items):
            yield self.run(x, index=i)

    def map(self, items: Iterable[Any]) -> list[Any]:
        """Each item through the pipeline: a list of outputs (errors name the item's index).

        >>> Pipeline([("twice", lambda v: 2 * v)]).map([1, 2, 3])
        [2, 4, 6]
        """
        return list(self.iter(items))

    @property
    def batchable(self) -> bool:
        """Whether every stage does to a batch what it does to each of its samples (stages
        whose class sets ``batched = True``: casts, normalisation, the audio features)."""
        return all(getattr(fn, "batched", False) for _, fn in self._stages)

    def run_batch(self, items: Iterable[Any], *, chunk: int = 256) -> ember.Tensor:
        """Each item through the pipeline, the outputs stacked on a new first axis. A
        :attr:`batchable` pipeline given a tensor of samples with at least one axis each runs on
        ``chunk`` samples at a time (the same numbers, far fewer calls); a failure there is
        retried item by item, so that the error names the item.

        Raises ShapeError naming the first item whose output shape differs from item 0's.
        """
        if isinstance(items, ember.Tensor) and items.ndim >= 2 and items.shape[0] > 0 \
                and self.batchable:
            try:
                parts = [self.run(items[i:i + chunk]) for i in range(0, items.shape[0], chunk)]
            except StageError:
                pass  # item by item below: the error names the item
            else:
                return ember.concat([ember.asarray(y) for y in parts], axis=0)
        return _stack([ember.asarray(y) if not isinstance(y, ember.Tensor) else y
                       for y in self.iter(items)], type(self).__name__)

    # -- inspection -----------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """The stage names, in order."""
        return [n for n, _ in self._stages]

    @property
    def stages(self) -> list[tuple[str, Callable[[Any], Any]]]:
        """The ``(name, stage)`` pairs, in order (a copy)."""
        return list(self._stages)

    def __getitem__(self, name: str) -> Callable[[Any], Any]:
        for n, fn in self._stages:
            if n == name:
                return fn
        raise KeyError(f"no stage named {name!r}; stages: {self.names}")

    def __len__(self) -> int:
        return len(self._stages)

    def __repr__(self) -> str:
        inner = ", ".join(f"({n!r}, {fn!r})" for n, fn in self._stages)
        return f"{type(self).__name__}([{inner}])"

    # -- configs --------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """``{"stages": [{"name", "kind", **arguments}, ...]}``: JSON that ``from_config``
        rebuilds. Raises ConfigError naming a stage that has no config (a plain function)."""
        out = []
        for pos, (name, fn) in enumerate(self._stages):
            out.append({"name": name, **stage_config(fn, f"stage {name!r} ({pos + 1})")})
        return {"stages": out}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """The pipeline ``get_config`` (or a ``[pipeline]`` table) describes.

        Raises ConfigError naming the stage for an unknown kind, a missing name or bad
        arguments, and for keys other than ``stages``.
        """
        if not isinstance(config, Mapping) or not isinstance(config.get("stages"), list):
            raise ConfigError(f"{cls.__name__}.from_config: expected a table with a 'stages' "
                              f"list, got {config!r}")
        extra = sorted(set(config) - {"stages", "class"})
        if extra:
            raise ConfigError(f"{cls.__name__}.from_config: unknown keys {extra}; a pipeline "
                              f"table holds 'stages' only")
        pairs = []
        for i, spec in enumerate(config["stages"]):
            name = spec.get("name") if isinstance(spec, Mapping) else None
            if not isinstance(name, str) or not name:
                raise ConfigError(f"pipeline stage {i + 1} needs a name (name = \"...\"), got "
                                  f"{spec!r}")
            pairs.append((name, build_stage(spec, f"pipeline stage {name!r} ({i + 1})")))
        return cls(pairs)

    @classmethod
    def from_toml(cls, source: str | os.PathLike[str] | Mapping[str, Any],
                  table: str = "pipeline") -> Self:
        """The pipeline of a TOML ``[pipeline]`` table: ``source`` is a ``.toml`` file, a
        parsed document holding the table, or the table itself. ``table`` picks another table
        name (``"preprocess"`` ...); dotted names reach nested tables.

        Raises ConfigError for a missing file or table and for invalid TOML.
        """
        if isinstance(source, Mapping):
            doc: Any = source
        else:
            p = Path(source)
            if not p.is_file():
                raise ConfigError(f"{cls.__name__}.from_toml: {str(p)!r} is not a file")
            try:
                doc = tomllib.loads(p.read_text())
            except tomllib.TOMLDecodeError as e:
                raise ConfigError(f"{p}: not valid TOML: {e}") from None
        if "stages" not in doc:
            for part in table.split("."):
                if not isinstance(doc, Mapping) or part not in doc:
                    raise ConfigError(f"{cls.__name__}.from_toml: no [{table}] table with "
                                      f"[[{table}.stages]] in {source if not isinstance(source, Mapping) else 'the document'}")
                doc = doc[part]
        return cls.from_config(doc)

    def to_toml(self, table: str = "pipeline") -> str:
        """The ``[table]`` TOML text that ``from_toml`` reads back.

        >>> print(Pipeline([("label", Argmax())]).to_toml())
        [[pipeline.stages]]
        name = "label"
        kind = "argmax"
        axis = -1
        <BLANKLINE>
        """
        lines = []
        for stage in self.get_config()["stages"]:
            lines.append(f"[[{table}.stages]]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in stage.items()]
            lines.append("")
        return "\n".join(lines)


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(e) for e in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(e)}" for k, e in v.items()) + " }"
    raise ConfigError(f"to_toml: {v!r} is not a TOML value")


def _stack(rows: list[ember.Tensor], what: str) -> ember.Tensor:
    if not rows:
        raise ember.ArgumentError(f"{what}.run_batch: no items")
    for i, r in enumerate(rows):
        if r.shape != rows[0].shape:
            raise ember.ShapeError(f"{what}.run_batch: item {i} gives shape {r.shape}, item 0 "
                                   f"gives {rows[0].shape}; features must have one shape to "
                                   f"stack (pad or reshape them in a stage)")
    return ember.stack(rows, axis=0)


class FeaturePipeline(Pipeline):
    """A :class:`Pipeline` from raw input to the features a model takes: ``run`` returns a
    tensor (of ``dtype``, float32 by default) and ``run_batch`` a stacked batch of them.

    Arguments:
        stages: as for :class:`Pipeline`.

    Raises ConfigError for the same reasons as Pipeline; ``run`` raises StageError when a
    stage fails and DTypeError when the output is not numeric.

    >>> feats = FeaturePipeline([("scale", Normalize(mean=0.0, std=10.0))])
    >>> feats.run_batch([[10, 20], [30, 40]]).tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """

    def run(self, x: Any, *, index: int | None = None) -> ember.Tensor:
        out = super().run(x, index=index)
        t = out if isinstance(out, ember.Tensor) else ember.asarray(out)
        if ember.isdtype(t.dtype, "bool") or not ember.isdtype(t.dtype, "numeric"):
            raise ember.DTypeError(f"FeaturePipeline: the features are {t.dtype}; a model "
                                   f"takes numbers (add a 'cast' stage)")
        return t

    __call__ = run

    def feature_shape(self, sample: Any) -> tuple[int, ...]:
        """The shape of one sample's features (runs the pipeline on ``sample``)."""
        return tuple(self.run(sample).shape)
