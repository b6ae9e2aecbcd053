"""Reading and writing: safetensors files and crash-safe checkpoints (safetensors weights
plus a JSON config; nothing is ever unpickled)."""

from ._checkpoint import Checkpoint as Checkpoint
from ._checkpoint import load as load
from ._checkpoint import load_checkpoint as load_checkpoint
from ._checkpoint import load_weights as load_weights
from ._checkpoint import read_extra as read_extra
from ._checkpoint import save as save
from ._interop import from_torch as from_torch
from ._ncps import from_ncps as from_ncps
from ._safetensors import load_file as load_file
from ._safetensors import read_metadata as read_metadata
from ._safetensors import save_file as save_file

__all__ = ["Checkpoint", "from_ncps", "from_torch", "load", "load_checkpoint", "load_file",
           "load_weights", "read_extra", "read_metadata", "save", "save_file"]
