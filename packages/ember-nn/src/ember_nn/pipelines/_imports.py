"""Importing the user's code a run names: a ``[data] loader`` file, the config's ``imports``,
and ``--import`` on the command line. Importing a module registers the ``Module`` classes it
defines, so checkpoints of those classes can be rebuilt.

A file ``dir/models.py`` is imported as the module ``_ember_data_models`` (the name
``load_dataset`` gives a loader file), so a class defined there gets the same registered name
however it was imported.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from .._core._errors import ConfigError

__all__ = ["import_user_code", "loader_import"]


def _module_name(path: Path) -> str:
    return f"_ember_data_{path.stem}"


def import_user_code(spec: str, base_dir: str | Path = ".") -> tuple[str, ModuleType]:
    """Import ``spec``, a ``.py`` file (relative to ``base_dir`` unless absolute) or a dotted
    module name; returns what to record (the file's absolute path, or the module name) and
    the module.

    >>> import_user_code("models.py", base_dir="examples/custom")
    ('/.../examples/custom/models.py', <module '_ember_data_models' ...>)
    """
    if not isinstance(spec, str) or not spec:
        raise ConfigError(f"import: expected a .py file or a module name, got {spec!r}")
    if spec.endswith(".py"):
        path = Path(spec)
        path = (path if path.is_absolute() else Path(base_dir) / path).resolve()
        if not path.is_file():
            raise ConfigError(f"import: file {str(path)!r} does not exist")
        name = _module_name(path)
        mod_spec = importlib.util.spec_from_file_location(name, path)
        if mod_spec is None or mod_spec.loader is None:
            raise ConfigError(f"import: {str(path)!r} cannot be imported as Python")
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[name] = module
        try:
            mod_spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return str(path), module
    try:
        return spec, importlib.import_module(spec)
    except ModuleNotFoundError as e:
        raise ConfigError(f"import: no module named {spec!r} ({e}); pass a .py file or a module "
                          f"on the Python path") from None


def loader_import(data: object, base_dir: str | Path) -> str | None:
    """What a ``[data]`` table's ``loader`` imports, as ``import_user_code`` records it (None
    when the data come from elsewhere)."""
    if not isinstance(data, dict) or data.get("source") != "python":
        return None
    where = str(data.get("loader", "")).rpartition(":")[0]
    if not where:
        return None
    if where.endswith(".py"):
        path = Path(where)
        return str((path if path.is_absolute() else Path(base_dir) / path).resolve())
    return where
