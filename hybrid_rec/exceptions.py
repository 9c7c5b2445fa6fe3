"""Every error the library raises on purpose, in one place.

Each class refines the builtin a caller would naturally catch (``ValueError``
for bad values, ``FileNotFoundError`` for missing data), so code that does not
know this library still handles its errors sensibly.
"""


class HybridRecError(Exception):
    """Base class of every error raised on purpose by hybrid_rec."""


class SpecError(HybridRecError, ValueError):
    """A feature spec is malformed: the message names the file, section and key."""


class InputDataError(HybridRecError, ValueError):
    """Input data (a DataFrame or a file) breaks a rule the library relies on."""


class ModelFileError(HybridRecError, ValueError):
    """A model file is truncated, corrupted, foreign or of an unsupported version."""


class DatasetNotFoundError(HybridRecError, FileNotFoundError):
    """A dataset is neither on disk nor downloadable; the message says where we looked."""


class NotFittedError(HybridRecError, AttributeError):
    """A model was used before ``fit`` (or ``load``)."""


class TrainingDivergedError(HybridRecError, ArithmeticError):
    """Training produced non-finite parameters."""
