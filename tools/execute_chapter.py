"""Execute chapters at their default parameters for commit, with no progress bar stored.

A chapter's cells that train or load runs keep tqdm's progress bars for whoever runs the
notebook, and are tagged ``remove-stderr`` so that the built page never shows them. The
committed ``.ipynb`` must not hold them either (``tests/book/test_book.py`` checks): this script
executes each chapter in place with ``nbclient`` (what ``jupyter execute`` runs), drops the
stderr streams of the cells tagged ``remove-stderr`` (exactly what the build would hide), and
re-pairs the percent script with jupytext. Nothing else of the outputs is touched.

Usage (from the repository root, on a clean tree, so the outputs come from committed code)::

    .venv/bin/python tools/execute_chapter.py book/fashion_mnist.ipynb [book/cost_study.ipynb ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def strip_tagged_stderr(nb) -> int:
    """Remove the stderr streams of the cells tagged ``remove-stderr``; return how many."""
    removed = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and "remove-stderr" in cell.metadata.get("tags", []):
            kept = [o for o in cell.get("outputs", []) if not (o.output_type == "stream" and o.name == "stderr")]
            removed += len(cell.outputs) - len(kept)
            cell.outputs = kept
    return removed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        if path.suffix != ".ipynb" or not path.is_file():
            parser.error(f"notebooks must be existing .ipynb files, got {str(path)!r}")
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=args.timeout, resources={"metadata": {"path": str(path.parent)}}).execute()
        removed = strip_tagged_stderr(nb)
        nbformat.write(nb, path)
        subprocess.run([sys.executable, "-m", "jupytext", "--sync", str(path)], check=True, capture_output=True)
        print(f"{path}: executed; {removed} stderr stream(s) of remove-stderr cells dropped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
