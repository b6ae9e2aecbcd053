"""General layers: dense, embedding, convolution, pooling, normalisation, dropout,
activations (each a plain function and a thin module over it), containers, the MLP,
multi-head attention and transformer encoder layers."""

from ._activations import ELU as ELU
from ._activations import GELU as GELU
from ._activations import Identity as Identity
from ._activations import LeakyReLU as LeakyReLU
from ._activations import LeCunTanh as LeCunTanh
from ._activations import ReLU as ReLU
from ._activations import Sigmoid as Sigmoid
from ._activations import SiLU as SiLU
from ._activations import Softmax as Softmax
from ._activations import Softplus as Softplus
from ._activations import Tanh as Tanh
from ._activations import elu as elu
from ._activations import gelu as gelu
from ._activations import identity as identity
from ._activations import leaky_relu as leaky_relu
from ._activations import lecun_tanh as lecun_tanh
from ._activations import relu as relu
from ._activations import sigmoid as sigmoid
from ._activations import silu as silu
from ._activations import softmax as softmax
from ._activations import softplus as softplus
from ._activations import tanh as tanh
from ._attention import MultiHeadAttention as MultiHeadAttention
from ._containers import Residual as Residual
from ._containers import Sequential as Sequential
from ._conv import Conv1d as Conv1d
from ._conv import Conv2d as Conv2d
from ._dense import Dense as Dense
from ._dropout import Dropout as Dropout
from ._embedding import Embedding as Embedding
from ._mlp import MLP as MLP
from ._norm import BatchNorm as BatchNorm
from ._norm import LayerNorm as LayerNorm
from ._norm import RMSNorm as RMSNorm
from ._pool import AvgPool1d as AvgPool1d
from ._pool import AvgPool2d as AvgPool2d
from ._pool import Flatten as Flatten
from ._pool import GlobalAvgPool as GlobalAvgPool
from ._pool import GlobalMaxPool as GlobalMaxPool
from ._pool import MaxPool1d as MaxPool1d
from ._pool import MaxPool2d as MaxPool2d
from ._transformer import TransformerEncoder as TransformerEncoder
from ._transformer import TransformerEncoderLayer as TransformerEncoderLayer

__all__ = ["AvgPool1d", "AvgPool2d", "BatchNorm", "Conv1d", "Conv2d", "Dense", "Dropout", "ELU",
           "Embedding", "Flatten", "GELU", "GlobalAvgPool", "GlobalMaxPool", "Identity",
           "LayerNorm", "LeCunTanh", "LeakyReLU", "MLP", "MaxPool1d", "MaxPool2d",
           "MultiHeadAttention", "RMSNorm", "ReLU", "Residual", "Sequential", "SiLU", "Sigmoid",
           "Softmax", "Softplus", "Tanh", "TransformerEncoder", "TransformerEncoderLayer",
           "elu", "gelu", "identity", "leaky_relu", "lecun_tanh", "relu", "sigmoid", "silu",
           "softmax", "softplus", "tanh"]
