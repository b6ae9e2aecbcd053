"""Recurrent layers: the liquid cells and layers (CfC, LTC, with ncps's numbers), each cell
with a pure ``step``."""

from ._cfc import CfC as CfC
from ._cfc_cell import CfCCell as CfCCell
from ._ltc import LTC as LTC
from ._ltc import LTCCell as LTCCell
from ._wired_cfc import WiredCfCCell as WiredCfCCell

__all__ = ["LTC", "CfC", "CfCCell", "LTCCell", "WiredCfCCell"]
