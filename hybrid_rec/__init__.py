"""hybrid_rec: hybrid, metadata-aware recommendation with LightFM.

Every user and item vector is the sum of the embeddings of its features, so
brand-new users and items get a vector from their metadata at once, and new
users with a few ratings a better one by fold-in, without retraining.
"""

import logging

from .datasets import MovieLens, load_movielens
from .encoder import FeatureEncoder
from .exceptions import (
    DatasetNotFoundError,
    HybridRecError,
    InputDataError,
    ModelFileError,
    NotFittedError,
    SpecError,
    TrainingDivergedError,
)
from .model import HybridRecommender
from .spec import Spec, load_spec

__version__ = "0.1.0"

__all__ = [
    "DatasetNotFoundError",
    "FeatureEncoder",
    "HybridRecError",
    "HybridRecommender",
    "InputDataError",
    "ModelFileError",
    "MovieLens",
    "NotFittedError",
    "Spec",
    "SpecError",
    "TrainingDivergedError",
    "load_movielens",
    "load_spec",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
