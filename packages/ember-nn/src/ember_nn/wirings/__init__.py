"""Wirings: the connectivity of liquid cells (LTC, CfC) as plain data, with ncps's API and, for
the same arguments and seeds, ncps's matrices: ``Wiring``, ``FullyConnected``, ``Random``,
``NCP``, ``AutoNCP``; ``draw_graph`` writes a picture (networkx and matplotlib).

>>> from ember_nn.wirings import AutoNCP
>>> w = AutoNCP(16, 4); w.build(3)
>>> (w.units, w.output_dim, w.num_layers)
(16, 4, 3)
"""

from ._draw import draw_graph as draw_graph
from ._fully_connected import FullyConnected as FullyConnected
from ._ncp import NCP as NCP
from ._ncp import AutoNCP as AutoNCP
from ._random import Random as Random
from ._wiring import Wiring as Wiring
from ._wiring import deserialize_wiring as deserialize_wiring
from ._wiring import serialize_wiring as serialize_wiring

__all__ = ["NCP", "AutoNCP", "FullyConnected", "Random", "Wiring", "deserialize_wiring",
           "draw_graph", "serialize_wiring"]
