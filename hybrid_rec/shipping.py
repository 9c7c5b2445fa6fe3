"""Sending a model to Dask workers once, as its model file's bytes.

A worker plugin carries the bytes of the ``.npz`` model file; its ``setup``
runs on every worker, including workers that join later, and loads them with
:func:`hybrid_rec.persistence.load_model`, so no model object is ever
pickled. Workers that share a process (a threaded cluster) share one loaded
model, counted by reference and dropped when the last plugin is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
import threading
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["ModelPlugin", "model_loads", "shipped", "worker_model"]

logger = logging.getLogger(__name__)

_MODELS: dict[str, list] = {}
_MODELS_LOCK = threading.Lock()
_LOADS = {"count": 0}


def _acquire(key: str, payload: bytes) -> None:
    """Load the model from its file bytes, once per process (workers may share one)."""
    from .persistence import load_model

    with _MODELS_LOCK:
        if key in _MODELS:
            _MODELS[key][1] += 1
            return
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.npz"
            path.write_bytes(payload)
            _MODELS[key] = [load_model(path), 1]
        _LOADS["count"] += 1


def _release(key: str) -> None:
    with _MODELS_LOCK:
        entry = _MODELS.get(key)
        if entry is not None:
            entry[1] -= 1
            if entry[1] <= 0:
                del _MODELS[key]


def worker_model(key: str):
    """The model loaded in this process for ``key`` (the SHA-256 of its file bytes)."""
    with _MODELS_LOCK:
        entry = _MODELS.get(key)
    if entry is None:
        raise RuntimeError(f"model {key[:12]} is not loaded in this worker process: its "
                           "plugin was not set up here")
    return entry[0]


def model_loads() -> int:
    """How many times this process has built a model from shipped bytes."""
    return _LOADS["count"]


class ModelPlugin(WorkerPlugin):
    """Carries a model file's bytes to each worker and loads them there once."""

    def __init__(self, key: str, payload: bytes):
        self.key, self.payload = key, payload
        self.name = f"hybrid-rec-model-{key[:16]}"

    def setup(self, worker):
        _acquire(self.key, self.payload)

    def teardown(self, worker):
        _release(self.key)


@contextlib.contextmanager
def shipped(client, payload: bytes):
    """Register the model on every worker (and on workers that join later); yield its key."""
    key = hashlib.sha256(payload).hexdigest()
    plugin = ModelPlugin(key, payload)
    client.register_plugin(plugin, name=plugin.name)
    logger.debug("model %s (%d bytes) sent to the workers", key[:12], len(payload))
    try:
        yield key
    finally:
        try:
            client.unregister_worker_plugin(plugin.name)
        except Exception as e:  # the cluster may be gone already; its workers with it
            logger.debug("could not remove the model plugin: %s", e)
