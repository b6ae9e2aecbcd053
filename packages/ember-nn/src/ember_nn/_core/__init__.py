"""What every part of ember-nn builds on: ``Module``, the config registry and its JSON form,
the key stream layers draw from, the errors, and the argument checks shared by several
folders. Imports nothing else of ember_nn."""

from ._aux_losses import add_loss as add_loss
from ._aux_losses import collect_losses as collect_losses
from ._errors import CheckpointError as CheckpointError
from ._errors import ConfigError as ConfigError
from ._errors import StateError as StateError
from ._errors import TrainingError as TrainingError
from ._module import Module as Module
from ._random import manual_seed as manual_seed
from ._random import seeded as seeded
from ._serialize import deserialize as deserialize
from ._serialize import registered as registered
from ._serialize import serialize as serialize
from ._version import __version__ as __version__

__all__ = ["CheckpointError", "ConfigError", "Module", "StateError", "TrainingError",
           "__version__", "add_loss", "collect_losses", "deserialize", "manual_seed", "registered",
           "seeded", "serialize"]
