"""Execute the notebooks of this folder and save them with their outputs.

``python notebooks/execute.py [NOTEBOOK ...]`` runs each notebook (default: all of
``notebooks/*.ipynb``) from its own folder in a fresh kernel and writes it back in
place with the outputs; ``--out DIR`` writes the executed copies to DIR instead,
leaving the originals untouched. MovieLens is read through ``HYBRID_REC_DATA``;
``HYBRID_REC_NOTEBOOK_FAST=1`` in the environment selects the few-epoch setting.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def execute(path: Path, out: Path, timeout: int = 600) -> Path:
    """Run one notebook in a fresh kernel and write the executed copy to ``out``."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=out.parent, suffix=".ipynb", delete=False,
                                     encoding="utf-8") as fh:
        nbformat.write(notebook, fh)
    os.chmod(fh.name, 0o644)
    os.replace(fh.name, out)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the executed copies (default: overwrite in place)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(HERE.glob("[0-9]*.ipynb"))
    for path in paths:
        target = args.out / path.name if args.out else path
        print(f"executing {path} -> {target}", file=sys.stderr)
        execute(path, target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
