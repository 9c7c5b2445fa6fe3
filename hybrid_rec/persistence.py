"""Model files: NumPy arrays in one ``.npz`` with a JSON manifest, and no pickle.

The manifest (stored as the UTF-8 bytes of the array ``__manifest__``) holds
the format name and version, the spec, the vocabularies, the
hyperparameters, the library versions and, for every array, its shape,
dtype and SHA-256. Loading uses ``np.load(allow_pickle=False)``, checks all of
that, and only then builds the model, so a truncated, corrupted or foreign
file fails with a :class:`~hybrid_rec.exceptions.ModelFileError` and never
yields a partial model. Nothing in a model file is executed.
"""

from __future__ import annotations

import hashlib
import json
import platform
import zipfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .atomic import atomic_path
from .encoder import FeatureEncoder
from .exceptions import ModelFileError
from .idmap import IdMap
from .spec import parse_spec

__all__ = ["FORMAT", "FORMAT_VERSION", "load_model", "save_model"]

FORMAT = "hybrid_rec.model"
FORMAT_VERSION = 1
_MANIFEST = "__manifest__"
_STAMP = (1980, 1, 1, 0, 0, 0)
_DENSE = ("user_embeddings_", "user_biases_", "item_embeddings_", "item_biases_", "popularity_")
_SPARSE = ("user_features_", "item_features_", "seen_")


def _versions() -> dict:
    import lightfm
    import pandas
    import scipy

    from . import __version__

    return {"hybrid_rec": __version__, "lightfm": lightfm.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "pandas": pandas.__version__,
            "python": platform.python_version()}


def _arrays(model) -> dict[str, np.ndarray]:
    arrays = {name: getattr(model, name) for name in _DENSE}
    for name in _SPARSE:
        matrix = getattr(model, name).tocsr()
        arrays[f"{name}data"] = matrix.data.astype(np.float32)
        arrays[f"{name}indices"] = matrix.indices.astype(np.int32)
        arrays[f"{name}indptr"] = matrix.indptr.astype(np.int64)
    arrays["user_ids_"] = model.user_ids_.to_array()
    arrays["item_ids_"] = model.item_ids_.to_array()
    if model.item_titles_ is not None:
        arrays["item_titles_"] = np.asarray(model.item_titles_, dtype=str)
    return arrays


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def save_model(model, path: str | Path) -> Path:
    """Write a fitted model to ``path`` atomically; see the module docstring."""
    model._check_fitted()
    path = Path(path)
    arrays = _arrays(model)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "spec": model.spec_.raw,
        "spec_source": model.spec_.source,
        "hyperparameters": {k: (v if not isinstance(v, np.random.Generator) else None)
                            for k, v in model.get_params().items()},
        "encoders": {"users": model.user_encoder_.state(), "items": model.item_encoder_.state()},
        "shapes": {name: list(getattr(model, name).shape) for name in _SPARSE},
        "versions": _versions(),
        "arrays": {name: {"shape": list(a.shape), "dtype": a.dtype.str, "sha256": _digest(a)}
                   for name, a in arrays.items()},
    }
    blob = np.frombuffer(json.dumps(manifest, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            _write_npz(fh, {_MANIFEST: blob, **arrays})
    return path


def _write_npz(fh, arrays: dict[str, np.ndarray]) -> None:
    """An uncompressed ``.npz`` whose bytes depend only on the arrays.

    ``np.savez`` stamps every member with the current time; a fixed stamp
    makes two saves of the same model byte-identical.
    """
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_STAMP)
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def _fail(path: Path, message: str) -> ModelFileError:
    return ModelFileError(f"{path}: {message}")


def _read(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except FileNotFoundError:
        raise _fail(path, "model file not found") from None
    except OSError as e:
        raise _fail(path, f"cannot read model file: {e}") from e
    if head != b"PK\x03\x04":
        hint = " (it looks like a pickle, which is never loaded)" if head[:1] == b"\x80" else ""
        raise _fail(path, f"not a hybrid_rec model file: no NumPy .npz signature{hint}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise _fail(path, "not a hybrid_rec model file: it holds pickled objects, which "
                              "are never loaded") from None
        raise _fail(path, f"model file is truncated or corrupted: {e}") from e
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as e:
        raise _fail(path, f"model file is truncated or corrupted: {e}") from e
    if _MANIFEST not in arrays:
        raise _fail(path, "not a hybrid_rec model file: it has no manifest")
    try:
        manifest = json.loads(arrays.pop(_MANIFEST).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _fail(path, f"the manifest is corrupted: {e}") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _fail(path, "not a hybrid_rec model file: the manifest names another format")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise _fail(path, f"model format version {version!r} is not supported by this "
                          f"hybrid_rec, which reads versions 1 to {FORMAT_VERSION}; upgrade "
                          "hybrid_rec or retrain the model")
    expected = manifest.get("arrays", {})
    for name, meta in expected.items():
        if name not in arrays:
            raise _fail(path, f"array {name!r} named in the manifest is missing")
        a = arrays[name]
        if list(a.shape) != meta["shape"] or a.dtype.str != meta["dtype"]:
            raise _fail(path, f"array {name!r} has shape {list(a.shape)} and dtype "
                              f"{a.dtype.str}; the manifest says {meta['shape']} and "
                              f"{meta['dtype']}")
        if _digest(a) != meta["sha256"]:
            raise _fail(path, f"array {name!r} does not match its checksum: the file is "
                              "corrupted")
    extra = sorted(set(arrays) - set(expected))
    if extra:
        raise _fail(path, f"array {extra[0]!r} is not named in the manifest")
    return manifest, arrays


def load_model(path: str | Path):
    """Read a model file written by :func:`save_model`."""
    from .model import HybridRecommender

    path = Path(path)
    manifest, arrays = _read(path)
    try:
        spec = parse_spec(manifest["spec"], source=manifest.get("spec_source", str(path)))
        params = manifest["hyperparameters"]
        if params.get("random_state") is None:
            params["random_state"] = 0
        model = HybridRecommender(spec, **params)
        for name in _DENSE:
            setattr(model, name, arrays[name])
        for name in _SPARSE:
            shape = tuple(manifest["shapes"][name])
            matrix = sp.csr_matrix((arrays[f"{name}data"], arrays[f"{name}indices"],
                                    arrays[f"{name}indptr"]), shape=shape)
            setattr(model, name, matrix)
        model.spec_ = spec
        model.user_ids_ = IdMap.from_array(arrays["user_ids_"])
        model.item_ids_ = IdMap.from_array(arrays["item_ids_"])
        titles = arrays.get("item_titles_")
        model.item_titles_ = None if titles is None else titles.astype(object)
        model.user_encoder_ = FeatureEncoder.from_state(spec.users, manifest["encoders"]["users"])
        model.item_encoder_ = FeatureEncoder.from_state(spec.items, manifest["encoders"]["items"])
        _check_consistent(model)
        model._refresh()
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise _fail(path, f"the model file is inconsistent: {e}") from e
    return model


def _check_consistent(model) -> None:
    checks = [
        (model.user_features_.shape, (len(model.user_ids_), model.user_encoder_.n_features)),
        (model.item_features_.shape, (len(model.item_ids_), model.item_encoder_.n_features)),
        (model.user_embeddings_.shape, (model.user_encoder_.n_features, model.no_components)),
        (model.item_embeddings_.shape, (model.item_encoder_.n_features, model.no_components)),
        (model.seen_.shape, (len(model.user_ids_), len(model.item_ids_))),
    ]
    for got, want in checks:
        if tuple(got) != tuple(want):
            raise ValueError(f"an array has shape {tuple(got)} where {tuple(want)} was expected")
