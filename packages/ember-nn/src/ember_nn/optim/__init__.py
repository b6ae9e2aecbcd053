"""Optimisers (SGD, Adam, AdamW, RMSprop on one ``Optimizer`` base; each update is one fused
``ember.nn.*_update`` call per group of variables), learning-rate schedules and gradient
clipping."""

from ._base import Optimizer as Optimizer
from ._clip import clip_by_global_norm as clip_by_global_norm
from ._clip import global_norm as global_norm
from ._optimizers import SGD as SGD
from ._optimizers import Adam as Adam
from ._optimizers import AdamW as AdamW
from ._optimizers import RMSprop as RMSprop
from ._schedules import Constant as Constant
from ._schedules import CosineAnnealing as CosineAnnealing
from ._schedules import CosineDecay as CosineDecay
from ._schedules import Schedule as Schedule
from ._schedules import StepDecay as StepDecay

__all__ = ["Adam", "AdamW", "Constant", "CosineAnnealing", "CosineDecay", "Optimizer", "RMSprop", "SGD", "Schedule",
           "StepDecay", "clip_by_global_norm", "global_norm"]
