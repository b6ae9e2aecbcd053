"""Pipelines and config-driven runs: ``Pipeline`` (named stages with a config and TOML form),
``FeaturePipeline``, ``InferencePipeline`` (checkpoint + preprocessing + batched prediction +
postprocessing, served asynchronously with dynamic batching), ``AsyncPipeline`` (concurrent
stages with bounded queues), ``TrainingPipeline`` (what ``ember train`` runs), the data sets
named by training configs (``Dataset``, ``load_dataset``), the CLI commands and plots. The stage
kinds are named in configs by kind (``"cast"``, ``"normalize"``, ``"softmax"``, ...); the
classes of those without a layer of the same name are exported here too."""

from ._async import AsyncPipeline as AsyncPipeline
from ._async import AsyncStage as AsyncStage
from ._datasets import Dataset as Dataset
from ._datasets import load_dataset as load_dataset
from ._inference import InferencePipeline as InferencePipeline
from ._load_test import LoadTest as LoadTest
from ._load_test import one_at_a_time as one_at_a_time
from ._load_test import serve_concurrently as serve_concurrently
from ._pipeline import FeaturePipeline as FeaturePipeline
from ._pipeline import Pipeline as Pipeline
from ._pipeline import StageError as StageError
from ._serving import BatchServer as BatchServer
from ._serving import ServeStats as ServeStats
from ._stages import Argmax as Argmax
from ._stages import Call as Call
from ._stages import Cast as Cast
from ._stages import Normalize as Normalize
from ._stages import OneHot as OneHot
from ._stages import Reshape as Reshape
from ._stages import Stage as Stage
from ._stages import register_stage as register_stage
from ._training import TrainingPipeline as TrainingPipeline

__all__ = ["Argmax", "AsyncPipeline", "AsyncStage", "BatchServer", "Call", "Cast", "Dataset",
           "FeaturePipeline", "InferencePipeline", "LoadTest", "Normalize", "OneHot", "Pipeline",
           "Reshape", "ServeStats", "Stage", "StageError", "TrainingPipeline", "load_dataset",
           "one_at_a_time", "register_stage", "serve_concurrently"]
