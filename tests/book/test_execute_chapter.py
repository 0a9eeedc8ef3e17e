"""tools/execute_chapter.py: the stored outputs lose tqdm's stderr where the page hides it, nothing else."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

_PATH = Path(__file__).resolve().parents[2] / "tools" / "execute_chapter.py"
_spec = importlib.util.spec_from_file_location("execute_chapter", _PATH)
execute_chapter = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(execute_chapter)


def _cell(tags, outputs):
    cell = nbformat.v4.new_code_cell("run_many(...)", metadata={"tags": tags})
    cell.outputs = outputs
    return cell


def test_only_the_stderr_of_remove_stderr_cells_goes():
    bar = nbformat.v4.new_output("stream", name="stderr", text="\r 50%|#####     | 1/2 [00:01<00:01, 1.0it/s]")
    out = nbformat.v4.new_output("stream", name="stdout", text="30 runs\n")
    warning = nbformat.v4.new_output("stream", name="stderr", text="UserWarning: shown on purpose\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [_cell(["remove-stderr"], [bar, out, bar]), _cell([], [warning, out]),
                nbformat.v4.new_markdown_cell("text")]
    assert execute_chapter.strip_tagged_stderr(nb) == 2
    assert nb.cells[0].outputs == [out]
    assert nb.cells[1].outputs == [warning, out]  # an untagged cell keeps what it printed


def test_the_command_refuses_what_is_not_a_notebook(tmp_path, capsys):
    with pytest.raises(SystemExit):
        execute_chapter.main([str(tmp_path / "missing.ipynb")])
    assert "notebooks must be existing .ipynb files" in capsys.readouterr().err
