"""Models assembled from layers: ``SequenceRegressor`` (a recurrent layer and a Dense head,
the elapsed time between steps optionally read from the last input feature)."""

from ._sequence import SequenceRegressor as SequenceRegressor

__all__ = ["SequenceRegressor"]
