"""Recurrent layers: the ``RNN`` driver and ``Bidirectional``, torch.nn's ``SimpleRNN``/
``LSTM``/``GRU`` and their cells, and the liquid cells and layers (CfC, LTC, with ncps's
numbers), each cell with a pure ``step``."""

from ._cell import Cell as Cell
from ._cfc import CfC as CfC
from ._cfc_cell import CfCCell as CfCCell
from ._driver import RNN as RNN
from ._driver import Bidirectional as Bidirectional
from ._gru import GRU as GRU
from ._gru import GRUCell as GRUCell
from ._lstm import LSTM as LSTM
from ._lstm import LSTMCell as LSTMCell
from ._ltc import LTC as LTC
from ._ltc import LTCCell as LTCCell
from ._simple import SimpleRNN as SimpleRNN
from ._simple import SimpleRNNCell as SimpleRNNCell
from ._wired_cfc import WiredCfCCell as WiredCfCCell

__all__ = ["GRU", "LSTM", "LTC", "RNN", "Bidirectional", "Cell", "CfC", "CfCCell", "GRUCell",
           "LSTMCell", "LTCCell", "SimpleRNN", "SimpleRNNCell", "WiredCfCCell"]
