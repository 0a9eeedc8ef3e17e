"""The chapters' conventions, checked on the committed files.

nbval (``SMOKE_TEST=1 pytest --nbval book/``) executes the chapters; these tests check what
execution cannot: the jupytext pairing, the papermill parameters cell, the SMOKE_TEST cell,
that chapters stay thin, that they end with assertions, that the harness (nbval markers, the
SMOKE_TEST and import cells, the closing assertions, progress bars) is kept off the page by
cell tags, and that the table of contents lists exactly the chapters on disk.
"""

from __future__ import annotations

import ast
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))


# nbval's cell tags (nbval.plugin.metadata_tags); the comment markers are not used in chapters
_NBVAL_TAGS = {"nbval-ignore-output", "nbval-check-output", "nbval-raises-exception", "nbval-skip",
               "raises-exception"}


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    stack = list(toc.get("chapters", [])) + [
        e for part in toc.get("parts", []) for e in part.get("chapters", [])
    ]
    while stack:
        entry = stack.pop()
        files.append(entry["file"])
        stack.extend(entry.get("sections", []))
    return files


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 4, f"expected the four theory chapters in book/, found {NOTEBOOKS}"


def test_toc_lists_exactly_the_chapters_on_disk():
    listed = set(_toc_files())
    # The API reference (book/api/, MyST pages of autodoc directives) is listed beside the
    # chapters: every page of it, and nothing else under book/api/.
    api = {f for f in listed if f.startswith("book/api/")}
    chapters = listed - api
    on_disk = {f"book/{p.stem}" for p in NOTEBOOKS} | {"book/intro", "book/references"}
    assert chapters == on_disk
    for f in chapters:
        assert (ROOT / f"{f}.ipynb").exists() or (ROOT / f"{f}.md").exists(), f
    assert api == {f"book/api/{p.stem}" for p in (ROOT / "book" / "api").glob("*.md")}
    assert "book/api/index" in api


def _list_markers_inside_math(markdown):
    """Lines of ``markdown`` that start with ``- ``, ``+ `` or ``* `` while an inline ``$`` is
    open: Markdown reads them as list items, which cuts the formula in two."""
    bad, open_math = [], False
    for line in markdown.splitlines():
        if not line.strip():
            open_math = False  # a blank line ends the paragraph, and any formula in it
            continue
        if open_math and line.lstrip()[:2] in ("- ", "+ ", "* "):
            bad.append(line)
        if line.replace("$$", "").count("$") % 2:
            open_math = not open_math
    return bad


def test_the_math_check_finds_a_wrapped_formula():
    assert _list_markers_inside_math("the error $\\max_b \\|T\n- b\\|_1$ after") == ["- b\\|_1$ after"]
    assert _list_markers_inside_math("a list:\n- $x$ is fine\n+ so is $y$") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
class TestChapter:
    def test_no_markdown_line_starts_a_list_inside_a_formula(self, path):
        nb = nbformat.read(path, as_version=4)
        bad = [line for c in nb.cells if c.cell_type == "markdown" for line in _list_markers_inside_math(c.source)]
        assert not bad, f"{path.name}: lines that Markdown reads as list items inside $...$: {bad}"

    def test_no_placeholder_is_left_in_the_prose(self, path):
        # drafts mark the paragraphs that wait for runs with these; a chapter never ships one
        nb = nbformat.read(path, as_version=4)
        markers = ("RESULTS", "TODO", "TBD", "XXX", "FIXME")
        bad = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()
               if any(m in line.split() or line.strip().startswith(m) for m in markers)]
        assert not bad, f"{path.name}: placeholder prose: {bad}"

    def test_paired_script_has_the_same_cells(self, path):
        script = path.with_suffix(".py")
        assert script.exists(), f"{path.name} has no jupytext pair {script.name}"
        assert "format_name: percent" in script.read_text()[:600], f"{script.name} is not percent format"
        nb = nbformat.read(path, as_version=4)
        paired = jupytext.read(script)
        ours = [(c.cell_type, c.source.strip()) for c in nb.cells]
        theirs = [(c.cell_type, c.source.strip()) for c in paired.cells]
        assert ours == theirs, f"{path.name} and {script.name} disagree: run `make sync`"

    def test_first_code_cell_is_parameters_of_lowercase_literals(self, path):
        nb = nbformat.read(path, as_version=4)
        first = _code_cells(nb)[0]
        assert "parameters" in first.metadata.get("tags", []), "first code cell must be tagged `parameters`"
        tree = ast.parse(first.source)
        assert tree.body, "the parameters cell is empty"
        for stmt in tree.body:
            assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1, ast.unparse(stmt)
            target = stmt.targets[0]
            assert isinstance(target, ast.Name) and target.id == target.id.lower(), ast.unparse(stmt)
            ast.literal_eval(stmt.value)  # raises if not a literal

    def test_second_code_cell_reads_smoke_test(self, path):
        nb = nbformat.read(path, as_version=4)
        second = _code_cells(nb)[1]
        assert 'SMOKE_TEST = os.environ.get("SMOKE_TEST")' in second.source

    def test_chapter_is_thin(self, path):
        nb = nbformat.read(path, as_version=4)
        for cell in _code_cells(nb):
            tree = ast.parse("\n".join(
                line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
            ))
            for node in ast.walk(tree):
                assert not isinstance(node, ast.ClassDef), f"class defined in a chapter:\n{cell.source}"
            # gradients may be computed (the Sinkhorn chapter compares them); optimisers may not run
            for needle in ("torch.optim", ".step()", ".zero_grad("):
                assert needle not in cell.source, f"training code in a chapter:\n{cell.source}"

    def test_chapter_ends_with_assertions(self, path):
        nb = nbformat.read(path, as_version=4)
        last = _code_cells(nb)[-1]
        assert any(isinstance(n, ast.Assert) for n in ast.walk(ast.parse(last.source)))
        # run (by nbval and by the build), and on the page collapsed behind "Show code cell source",
        # so that the prose that points at the checks points at something; the intro's checks of
        # its opening figure stay hidden
        tag = "remove-input" if path.stem == "intro" else "hide-input"
        assert tag in last.metadata.get("tags", []), f"tag the closing assertions `{tag}`"

    def test_nbval_markers_are_tags_not_comments(self, path):
        nb = nbformat.read(path, as_version=4)
        for cell in _code_cells(nb):
            assert "NBVAL_" not in cell.source, (
                f"{path.name}: an nbval comment marker shown to readers; use the cell tag "
                f"(`# %% tags=[\"nbval-ignore-output\"]`) instead:\n{cell.source}")
            for tag in cell.metadata.get("tags", []):
                assert not tag.startswith("nbval-") or tag in _NBVAL_TAGS, f"{path.name}: unknown nbval tag {tag!r}"

    def test_smoke_test_and_import_cells_are_collapsed(self, path):
        nb = nbformat.read(path, as_version=4)
        smoke, imports = _code_cells(nb)[1:3]
        # collapsed (`hide-cell`), or, on a page whose reader never needs them (the intro), removed
        off_page = {"hide-cell", "remove-cell"}
        assert off_page & set(smoke.metadata.get("tags", [])), "tag the SMOKE_TEST cell `hide-cell`"
        assert off_page & set(imports.metadata.get("tags", [])), "tag the import cell `hide-cell`"
        assert any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.parse(imports.source).body), (
            "the third code cell should be the chapter's imports")

    def test_no_progress_bar_reaches_the_page(self, path):
        nb = nbformat.read(path, as_version=4)
        for cell in _code_cells(nb):
            if any(needle in cell.source for needle in ("run_many(", "run_segmentation(")):
                assert "remove-stderr" in cell.metadata.get("tags", []), (
                    f"{path.name}: a cell that trains or loads runs shows tqdm's stderr; tag it `remove-stderr`")
            for out in cell.get("outputs", []):
                text = out.get("text", "") if out.output_type == "stream" else ""
                assert "it/s]" not in text and "\r" not in text, f"{path.name} stores a progress bar:\n{cell.source}"

    def test_stored_outputs_are_one_clean_in_order_run(self, path):
        nb = nbformat.read(path, as_version=4)
        cells = _code_cells(nb)
        counts = [c.execution_count for c in cells]
        assert all(counts), f"{path.name} has unexecuted cells: re-run it at its defaults"
        assert counts == list(range(counts[0], counts[0] + len(counts))), "cells were run out of order"
        for cell in cells:
            for out in cell.get("outputs", []):
                assert out.output_type != "error", f"{path.name} stores an error:\n{cell.source}"
