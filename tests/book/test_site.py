"""The book as a published site: one repository URL behind every button, a workflow that
builds the stored outputs strictly and deploys them to GitHub Pages from main, the
references as a page with the labels the text cites, and a first page that opens with the
overview figure.

The checks on sources always run; those on the built HTML reuse ``_build/html`` when it is
newer than every source, or build the book (``tests/book/test_browser.py``'s ``built_html``).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

from test_browser import built_html, toc_pages

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _workflow():
    (path,) = [p for p in WORKFLOWS if "deploy-pages" in p.read_text()]
    flow = yaml.safe_load(path.read_text())
    flow["on"] = flow.pop(True, flow.get("on"))  # YAML 1.1 reads the key `on` as True
    return flow


def test_one_repository_url_behind_every_button():
    url = CONFIG["repository"]["url"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url), url
    assert CONFIG["repository"]["branch"] == "main"
    assert CONFIG["html"]["use_repository_button"] is True
    launch = CONFIG["launch_buttons"]
    assert launch["binderhub_url"] == "https://mybinder.org"
    assert launch["colab_url"] == "https://colab.research.google.com"
    # thebe would load remote scripts on every page: console errors for a reader offline
    assert launch.get("thebe") is False
    # written once: no other file of the site repeats the URL
    others = [p for p in [ROOT / "_toc.yml", *WORKFLOWS, *(ROOT / "_ext").glob("*.py")] if url in p.read_text()]
    assert not others, f"the repository URL belongs in _config.yml only, also found in {others}"


def test_workflow_builds_the_stored_outputs_strictly_and_deploys_main_to_pages():
    flow = _workflow()
    assert "main" in flow["on"]["push"]["branches"]
    build, deploy = flow["jobs"]["build"], flow["jobs"]["deploy"]
    runs = "\n".join(step.get("run", "") for step in build["steps"])
    (command,) = [line.strip() for line in runs.splitlines() if "jupyter-book build" in line]
    assert {"-W", "-n", "--keep-going"} <= set(command.split()), command
    assert CONFIG["execute"]["execute_notebooks"] == "off"  # stored outputs, no execution
    uses = [step.get("uses", "") for step in build["steps"]]
    (upload,) = [step for step in build["steps"] if step.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert upload["with"]["path"] == "_build/html"
    assert any(u.startswith("actions/checkout@") for u in uses)
    assert deploy["needs"] == "build"
    assert "refs/heads/main" in deploy["if"] and "pull_request" in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]
    assert flow["permissions"] == {"contents": "read"}  # nothing more than the deploy job asks for


def test_the_workflow_points_the_buttons_at_the_repository_it_runs_in(tmp_path):
    import subprocess
    import sys

    build = _workflow()["jobs"]["build"]["steps"]
    runs = [step.get("run", "") for step in build]
    (k,) = [i for i, r in enumerate(runs) if "tools/set_repository_url.py" in r]
    assert '"${{ github.server_url }}/${{ github.repository }}"' in runs[k]
    assert k < next(i for i, r in enumerate(runs) if "jupyter-book build" in r)  # before the build
    config = tmp_path / "_config.yml"
    config.write_text((ROOT / "_config.yml").read_text())
    script = [sys.executable, str(ROOT / "tools" / "set_repository_url.py")]
    done = subprocess.run([*script, "https://github.com/someone/a-fork.git", "--config", str(config)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    new = yaml.safe_load(config.read_text())
    assert new["repository"]["url"] == "https://github.com/someone/a-fork"
    assert new == {**CONFIG, "repository": {**CONFIG["repository"], "url": "https://github.com/someone/a-fork"}}
    before, after = (ROOT / "_config.yml").read_text().splitlines(), config.read_text().splitlines()
    assert len(before) == len(after) and sum(a != b for a, b in zip(before, after)) == 1  # one line, comments kept
    bad = subprocess.run([*script, "http://example.org/x", "--config", str(config)], capture_output=True, text=True)
    assert bad.returncode == 2 and "url must be a GitHub repository's" in bad.stderr


def test_references_page_in_the_navigation_and_names_in_unicode():
    assert "book/references" in toc_pages()
    assert "{bibliography}" in (ROOT / "book" / "references.md").read_text()
    assert "{bibliography}" not in (ROOT / "book" / "intro.py").read_text()
    bib = (ROOT / "book" / "references.bib").read_text()
    # TeX accents ({\'e}, {\k{e}}, {\l}) that pybtex turned into labels such as [AJastrzkebskiB+17]
    assert not re.findall(r"\\['`^\"~=.ukvHcdbtlLoO]", bib)
    assert "Jastrzębski" in bib and "Stanisław" in bib
    assert CONFIG["sphinx"]["config"]["bibtex_reference_style"] == "author_year"


def test_intro_opens_with_the_overview_figure():
    nb = nbformat.read(ROOT / "book" / "intro.ipynb", as_version=4)
    cells = nb.cells
    first_code = next(k for k, c in enumerate(cells) if c.cell_type == "code")
    figure = next(c for c in cells if c.cell_type == "code" and "plot_against_paper(" in c.source)
    chapters = next(k for k, c in enumerate(cells) if c.cell_type == "markdown" and "## The chapters" in c.source)
    assert first_code < chapters and cells.index(figure) < chapters
    assert any("image/png" in o.get("data", {}) for o in figure.outputs)
    assert figure.metadata["mystnb"]["figure"]["name"] == "fig-intro-against-paper"  # numbered, captioned
    # the caption that counts the seeds is the next cell's output (a figure's caption applies to
    # every output of its cell)
    after = cells[cells.index(figure) + 1]
    caption = next(o["data"]["text/markdown"] for o in after.outputs if "text/markdown" in o.get("data", {}))
    assert "Seeds per method:" in caption
    assert yaml.safe_load((ROOT / "_toc.yml").read_text())["root"] == "book/intro"


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    return built_html(tmp_path_factory.mktemp("book"))


def test_built_references_have_author_year_labels(html):
    page = (html / "book" / "references.html").read_text()
    labels = re.findall(r'<span class="label"><span class="fn-bracket">\[</span>(.*?)<span', page)
    assert len(labels) >= 20
    assert all(re.fullmatch(r".+, (\d{4}[a-z]?|n\.d\.)", label) for label in labels), labels
    assert "Arpit et al., 2017" in labels and "Peyré and Cuturi, 2019" in labels
    assert "Jastrzębski" in page and "AJastrz" not in page and "{\\" not in page
    intro = (html / "book" / "intro.html").read_text()
    assert 'class="bibliography' not in intro  # the list lives on its own page
    assert 'href="references.html#' in intro  # and the intro's citations link to it


def test_api_citations_show_the_numbers_of_their_reference_lists(html):
    # numpydoc mangles each docstring's [1] into [R<hash>-1]; the reader must never see that id
    mangled, cited = {}, 0
    for page in sorted((html / "book" / "api").glob("*.html")):
        text = re.sub(r"<[^>]+>", "", page.read_text())  # the text a reader sees, not ids and hrefs
        found = re.findall(r"R[0-9a-f]{12}-\d+", text)
        if found:
            mangled[page.name] = found
        cited += len(re.findall(r'href="#r[0-9a-f]{12}-\d+"', page.read_text()))
    assert not mangled, mangled
    assert cited >= 10  # the API pages do cite their references (ot, data.classification, ...)
    ot_page = (html / "book" / "api" / "ot.html").read_text()
    assert re.search(r'href="#r[0-9a-f]{12}-1"[^>]*><span>\[1\]</span>', ot_page)


def test_output_tables_have_the_book_table_style(html):
    css = (ROOT / "_static" / "tables.css").read_text()
    for rule in ("font-variant-numeric: tabular-nums", "text-align: right", "white-space: nowrap", "padding:"):
        assert rule in css, rule
    assert ".cell_output table.dataframe thead tr th" in css  # outranks pandas' scoped left-align
    assert "color: var(" not in css  # dark mode: the table keeps the colour of its output box
    for chapter in ("cost_study", "vat", "fashion_mnist"):
        assert "_static/tables.css" in (html / "book" / f"{chapter}.html").read_text(), chapter


def test_built_pages_have_launch_repository_and_download_buttons(html):
    url = CONFIG["repository"]["url"]
    page = (html / "book" / "intro.html").read_text()
    slug = url.removeprefix("https://github.com/")
    assert f"https://mybinder.org/v2/gh/{slug}/main?urlpath=lab/tree/book/intro.ipynb" in page
    assert f"https://colab.research.google.com/github/{slug}/blob/main/book/intro.ipynb" in page
    assert f'href="{url}"' in page  # the repository button
    assert "_sources/book/intro.ipynb" in page  # the download button, the page's notebook
    assert "thebe-launch-button" not in page


def test_binder_installs_watlib_after_the_conda_environment():
    # repo2docker reads configuration files at the root unless a binder/ folder exists
    assert not (ROOT / "binder").exists() and not (ROOT / ".binder").exists()
    assert (ROOT / "environment.yml").is_file()
    post = ROOT / "postBuild"
    assert post.stat().st_mode & 0o111, "postBuild must be executable for repo2docker to run it"
    lines = [line for line in post.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert "pip install --no-deps -e ." in lines
