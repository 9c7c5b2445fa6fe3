"""Every notebook in notebooks/ runs from top to bottom (fast setting, into a temp folder).

The committed notebooks are never overwritten here; ``make notebooks``
re-executes them at normal settings and saves them with their outputs.
"""

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


def load_runner():
    spec = importlib.util.spec_from_file_location("execute", ROOT / "notebooks" / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_three_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["1-", "2-", "3-"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_carries_its_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]

    assert code and all(c.execution_count for c in code)
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert not any(o.output_type == "error" for c in code for o in c.outputs)
    assert all(c.outputs for c in code if not c.source.startswith("def "))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HYBRID_REC_NOTEBOOK_FAST", "1")
    monkeypatch.setenv("HYBRID_REC_DATA", str(data_dir))
    before = path.read_bytes()
    out = load_runner().execute(path, tmp_path / path.name, timeout=300)

    executed = nbformat.read(out, as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    assert not any(o.output_type == "error" for c in code for o in c.outputs)
    assert path.read_bytes() == before
    if path.name.startswith("2-"):
        images = [o for c in code for o in c.outputs if "image/png" in o.get("data", {})]
        assert len(images) == 2
