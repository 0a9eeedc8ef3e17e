"""Every page of the built book, opened in a real headless browser with no network.

A reader offline, behind a proxy or on a train sees what this test sees: it builds the book
(or reuses ``_build/html`` when it is newer than every source), opens each page of the table
of contents in Debian's Chromium driven by Playwright, aborts every request that is not a
``file://`` URL, and fails when a page

* has math in its source but no formula typeset by MathJax (``mjx-container``), or fewer
  typeset formulas than math elements in its HTML;
* leaves raw TeX delimiters (``\\(``, ``\\)``, ``\\[``, ``\\]``, ``$$``) or inline ``$\\lambda$``
  TeX in its visible text outside code (DataFrame labels included);
* has an image that did not load (``naturalWidth`` 0);
* logs a console error or an uncaught exception, or asks for anything off the machine.

It also fails on a table wider than the content column (688 px at the 1280 px viewport used
here), a path of the build machine in the page text (``/root/``, ``/home/``, ``/tmp/``,
``/Users/``, ``/work/`` where the stored outputs were made, the checkout's path) and an
image shown at less than half its width (its text unreadable; images not rendered at all,
such as the launch buttons' logos inside a closed menu, are not measured) -- except on the
pages of ``PENDING``, whose stored outputs wait for runs still to come: there these three
are reported (``summary.txt``, and a warning), each page with its reason.

It fails, too, on a display equation cut off at the column's edge (behind a scrollbar a
reader may not see), a content figure shown below 70% of its width (its text then below
about 9 px) and a code output wider than its box; and it serves the built book over HTTP, as
``make serve`` does, and checks that its search finds the chapters.

A full-page screenshot of every page, ``summary.txt`` (a table of the counts per page and
every finding) and ``summary.json`` (all of it) go to ``_build/screenshots/`` (ignored by
git) for a person to look at; ``pytest -s`` prints the table, and a warning in pytest's summary
says how many findings are still open.

Skipped, with the reason, where ``/usr/bin/chromium`` or the ``playwright`` package is
missing (``.ci/run`` installs Chromium when it runs as root; ``playwright`` is in the
``test`` extra). Never run ``playwright install``: it downloads a browser.

Run by hand: ``.venv/bin/python tests/book/test_browser.py [path/to/_build/html]``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import yaml

if __name__ == "__main__":  # run as a script: tests/ holds the helpers pytest finds there itself
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _system import missing_system  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = ROOT / "_build" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}
SOURCES = ["_config.yml", "_toc.yml", "_ext/*.py", "_static/*", "book/*.ipynb", "book/*.md", "book/*.bib"]
# Layout checks: failing, except on the pages of PENDING, where they are only reported.
REPORTED = ("wide_tables", "machine_paths", "small_images")
FAILING = (
    "missing_math",
    "raw_delimiters",
    "inline_tex",
    "broken_images",
    "console_errors",
    "external_requests",
    *REPORTED,
    # a display equation cut off at the column's edge, a content figure shown below 70% of its
    # width, a code output wider than its box
    "clipped_math",
    "shrunk_figures",
    "wide_outputs",
    # a content figure without a number and caption, or whose alt text is its file name
    "unnamed_figures",
    # a citation label a reader sees as numpydoc's internal id ("[R1a2b3c4d5e6f-1]", not "[1]")
    "internal_citations",
)
#: Pages whose stored outputs predate work in progress, and why: the checks of REPORTED warn there.
PENDING: dict[str, str] = {}


def toc_pages() -> list[str]:
    """The documents of ``_toc.yml`` in reading order (``book/intro``, ``book/vat``, ...)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries):
        for e in entries:
            pages.append(e["file"])
            walk(e.get("sections", []))

    walk(toc.get("chapters", []))
    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return pages


_MATH_IN_SOURCE = re.compile(r"\$\$|\$[^$\n]+\$|\\begin\{")


def source_has_math(page: str) -> bool:
    """Whether the page's Markdown (a ``.md`` or a notebook's markdown cells) holds TeX math."""
    md, nb = ROOT / f"{page}.md", ROOT / f"{page}.ipynb"
    if md.exists():
        text = md.read_text()
    else:
        cells = json.loads(nb.read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return bool(_MATH_IN_SOURCE.search(text))


def _newest_source_mtime() -> float:
    return max(p.stat().st_mtime for pattern in SOURCES for p in ROOT.glob(pattern))


def built_html(tmp_root: Path) -> Path:
    """``_build/html`` when every page there is newer than every source, else a fresh build
    (``jupyter-book build -W -n``, as the publishing workflow builds) under ``tmp_root``."""
    html = ROOT / "_build" / "html"
    newest = _newest_source_mtime()
    if all(
        (html / f"{p}.html").exists() and (html / f"{p}.html").stat().st_mtime >= newest
        for p in toc_pages()
    ) and (html / "_static" / "mathjax").is_dir():
        return html
    jb = Path(sys.executable).parent / "jupyter-book"
    if not jb.exists():
        pytest.skip("_build/html is stale and jupyter-book is not installed (the book extra)")
    subprocess.run(
        [str(jb), "build", str(ROOT), "--path-output", str(tmp_root), "-W", "-n"],
        check=True,
        capture_output=True,
        text=True,
    )
    return tmp_root / "_build" / "html"


# Runs in the page once MathJax has finished: every count the checks need.
_MEASURE = r"""
(checkout) => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const style = getComputedStyle(article);
  const column = article.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const visible = (root) => {
    const c = root.cloneNode(true);
    c.querySelectorAll('pre, code, script, style, mjx-container, textarea').forEach(e => e.remove());
    return c.textContent;
  };
  const prose = visible(article);
  const text = document.body.innerText;
  const images = [...document.images];
  const tables = [...article.querySelectorAll('table')];
  const wide = tables
    .map(t => ({width: Math.round(t.scrollWidth), column: Math.round(column),
                head: (t.querySelector('th, td') || {}).textContent || ''}))
    .filter(t => t.width > t.column + 1);
  const raw = [];
  for (const d of ['\\(', '\\)', '\\[', '\\]', '$$']) {
    let i = prose.indexOf(d);
    if (i >= 0) raw.push(prose.slice(Math.max(0, i - 40), i + 40).replace(/\s+/g, ' '));
  }
  const inline = [...prose.matchAll(/\$[^$\n]*\\[A-Za-z]+[^$\n]*\$/g)].map(m => m[0]);
  const small = images
    .filter(i => i.naturalWidth > 0 && i.getBoundingClientRect().width > 0
                 && i.getBoundingClientRect().width < 0.5 * i.naturalWidth)
    .map(i => ({src: i.getAttribute('src'), shown: Math.round(i.getBoundingClientRect().width),
                natural: i.naturalWidth}));
  // Measured and listed (summary.txt) before they fail: display equations cut off at the
  // column's edge (a scrollbar the reader may not see), content figures shown below 70% of
  // their width, and code outputs wider than their box.
  const clipped_math = [...article.querySelectorAll('mjx-container[display="true"]')]
    .filter(m => m.scrollWidth > m.clientWidth + 1)
    .map(m => ({width: Math.round(m.scrollWidth), box: Math.round(m.clientWidth),
                tex: (((window.MathJax && MathJax.startup && MathJax.startup.document
                        && MathJax.startup.document.getMathItemsWithin(m)[0]) || {}).math || '')
                       .replace(/\s+/g, ' ').slice(0, 90)}));
  const shrunk_figures = images
    .filter(i => i.closest('.cell_output, figure') && i.naturalWidth > 0 && i.getBoundingClientRect().width > 0
                 && i.getBoundingClientRect().width < 0.7 * i.naturalWidth)
    .map(i => ({src: i.getAttribute('src'), shown: Math.round(i.getBoundingClientRect().width),
                natural: i.naturalWidth}));
  const unnamed_figures = images
    .filter(i => i.closest('.cell_output, figure')
                 && (!i.closest('figure') || !i.closest('figure').querySelector('.caption-number')
                     || !i.alt || /(^|\/)[0-9a-f]{16,}\.(png|jpe?g|svg)$/.test(i.alt) || i.alt === i.getAttribute('src')))
    .map(i => ({src: i.getAttribute('src'), alt: i.alt.slice(0, 80)}));
  const internal_citations = [...new Set([...article.innerText.matchAll(/R[0-9a-f]{12}-\d+/g)].map(m => m[0]))];
  const wide_outputs = [...article.querySelectorAll('.cell_output pre, .output pre')]
    .filter(o => o.scrollWidth > o.clientWidth + 1)
    .map(o => ({width: Math.round(o.scrollWidth), box: Math.round(o.clientWidth),
                line: (o.textContent.split('\n').reduce((x, y) => (y.length > x.length ? y : x), '')).slice(0, 80)}));
  const paths = [];
  for (const p of ['/root/', '/home/', '/tmp/', '/Users/', '/work/', checkout]) {
    const re = new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '\\S*', 'g');
    for (const m of text.matchAll(re)) paths.push(m[0]);
  }
  return {
    math_elements: document.querySelectorAll('span.math, div.math').length,
    typeset: document.querySelectorAll('mjx-container').length,
    mathjax_errors: document.querySelectorAll('mjx-merror').length,
    images: images.length,
    broken_images: images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src')),
    tables: tables.length,
    column_px: Math.round(column),
    wide_tables: wide,
    raw_delimiters: raw,
    inline_tex: [...new Set(inline)],
    small_images: small,
    machine_paths: [...new Set(paths)],
    clipped_math: clipped_math,
    shrunk_figures: shrunk_figures,
    wide_outputs: wide_outputs,
    unnamed_figures: unnamed_figures,
    internal_citations: internal_citations,
  };
}
"""


def _offline(external: list[str]):
    """A route handler that lets the page read local files and aborts, and notes, the rest.
    (Playwright passes a handler with two parameters the request too, so no defaults here.)"""

    def route(r):
        if r.request.url.startswith(("file://", "data:", "blob:")):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    return route


def check_book(html: Path, shots: Path = SHOTS) -> dict[str, dict]:
    """Open every page of ``html`` offline; return ``{page: counts and findings}`` and write
    the screenshots and ``summary.json`` into ``shots``."""
    from playwright.sync_api import sync_playwright

    if shots.exists():
        shutil.rmtree(shots)
    shots.mkdir(parents=True)
    results: dict[str, dict] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            for page_name in toc_pages():
                page = context.new_page()
                errors: list[str] = []
                external: list[str] = []

                page.route("**/*", _offline(external))
                page.on("console", lambda m, e=errors: m.type == "error" and e.append(m.text))
                page.on("pageerror", lambda exc, e=errors: e.append(f"uncaught: {exc}"))
                page.goto((html / f"{page_name}.html").as_uri(), wait_until="load")
                # Lazy images load only when scrolled to; ask for all of them now.
                page.evaluate(
                    "() => Promise.all([...document.images].map(i => {"
                    " i.loading = 'eager'; return i.decode().catch(() => null); }))"
                )
                has_mathjax = page.evaluate("() => !!document.querySelector('script[src*=mathjax]')")
                if has_mathjax:
                    try:
                        page.wait_for_function(
                            "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                            timeout=15_000,
                        )
                        page.evaluate("() => MathJax.startup.promise.then(() => true)")
                    except Exception as exc:  # MathJax never loaded: reported as missing math
                        errors.append(f"MathJax did not start: {exc}".splitlines()[0])
                r = page.evaluate(_MEASURE, str(ROOT))
                r["source_math"] = source_has_math(page_name)
                r["console_errors"] = errors
                r["external_requests"] = external
                r["missing_math"] = (
                    r["source_math"] and (r["typeset"] == 0 or r["typeset"] < r["math_elements"])
                ) or r["mathjax_errors"] > 0
                r["screenshot"] = str(shots / f"{page_name.replace('/', '_')}.png")
                page.screenshot(path=r["screenshot"], full_page=True)
                r["height_px"] = page.evaluate("() => document.documentElement.scrollHeight")
                results[page_name] = r
                page.close()
        finally:
            browser.close()
    (shots / "summary.json").write_text(json.dumps(results, indent=1))
    (shots / "summary.txt").write_text(summary(results) + "\n")
    return results


def summary(results: dict[str, dict]) -> str:
    lines = [
        f"{'page':28} {'typeset':>7} {'math el':>7} {'images':>6} {'small':>5} {'tables':>6}"
        f" {'wide':>4} {'paths':>5} {'$tex$':>5}"
    ]
    for name, r in results.items():
        lines.append(
            f"{name:28} {r['typeset']:7} {r['math_elements']:7} {r['images']:6}"
            f" {len(r['small_images']):5} {r['tables']:6}"
            f" {len(r['wide_tables']):4} {len(r['machine_paths']):5} {len(r['inline_tex']):5}"
        )
    for name, r in results.items():
        for t in r["wide_tables"]:
            lines.append(f"  wide table in {name}: {t['width']} px in a {t['column']} px column")
        for path in r["machine_paths"]:
            lines.append(f"  machine path in {name}: {path}")
        for tex in r["inline_tex"]:
            lines.append(f"  inline TeX in {name}: {tex}")
        for im in r["small_images"]:
            lines.append(
                f"  image in {name} shown at {im['shown'] / im['natural']:.0%} of its width: {im['src']}"
            )
        for m in r.get("clipped_math", []):
            lines.append(f"  display equation in {name} cut off: {m['width']} px in a {m['box']} px box: {m['tex']}")
        for im in r.get("shrunk_figures", []):
            lines.append(f"  figure in {name} shown at {im['shown'] / im['natural']:.0%} of its width: {im['src']}")
        for o in r.get("wide_outputs", []):
            lines.append(f"  output in {name} {o['width']} px in a {o['box']} px box: {o['line']}")
        for c in r.get("internal_citations", []):
            lines.append(f"  citation label in {name} shown as its internal id: {c}")
        for im in r.get("unnamed_figures", []):
            lines.append(f"  figure in {name} without a number and a caption for alt text: {im['src']} (alt {im['alt']!r})")
    return "\n".join(lines)


def failures(results: dict[str, dict]) -> list[str]:
    out = []
    for name, r in results.items():
        for check in FAILING:
            if name in PENDING and check in REPORTED:
                continue
            if r[check]:
                detail = "" if r[check] is True else f": {r[check]}"
                if check == "missing_math":
                    detail = f": {r['typeset']} typeset of {r['math_elements']} math elements, {r['mathjax_errors']} MathJax errors"
                out.append(f"{name}: {check}{detail}")
    return out


def _skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium; make test does it as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def browser_results(tmp_path_factory):
    reason = _skip_reason()
    if reason:
        missing_system(reason)
    html = built_html(tmp_path_factory.mktemp("book"))
    results = check_book(html)
    print("\n" + summary(results))
    for name, why in PENDING.items():
        open_items = sum(len(results[name][c]) for c in REPORTED) if name in results else 0
        if open_items:  # shown in pytest's warnings summary, so the open items stay in sight
            warnings.warn(f"{name}: {open_items} layout findings not failing, because {why}: see "
                          f"{SHOTS / 'summary.txt'}", stacklevel=1)
    return results


def test_every_page_reads_offline(browser_results):
    assert set(browser_results) == set(toc_pages())
    assert set(PENDING) <= set(browser_results), "PENDING names a page that is not in the book"
    bad = failures(browser_results)
    assert not bad, "\n".join(bad)


def test_math_typesets_on_every_page_with_math(browser_results):
    for name, r in browser_results.items():
        if r["source_math"]:
            assert r["typeset"] > 0, f"{name}: math in the source, none typeset"


def test_the_layout_checks_catch_a_clipped_equation_a_shrunk_figure_a_wide_output_an_unnamed_figure_and_an_id():
    """The measurement itself, on a page made to fail each check (no MathJax needed: the check
    reads the typeset container's widths)."""
    reason = _skip_reason()
    if reason:
        missing_system(reason)
    import base64
    import io

    from matplotlib.figure import Figure
    from playwright.sync_api import sync_playwright

    buf = io.BytesIO()
    Figure(figsize=(4, 1), dpi=100).savefig(buf, format="png")  # 400 px wide
    png = base64.b64encode(buf.getvalue()).decode()
    page_html = (
        '<article class="bd-article" style="width: 688px; padding: 0">'
        f'<div class="cell_output"><pre style="overflow: auto">{"x" * 300}</pre>'
        f'<img src="data:image/png;base64,{png}" style="width: 200px"></div>'
        f'<figure><img alt="../_images/{"ab" * 20}.png" src="data:image/png;base64,{png}">'
        '<figcaption><span class="caption-number">Fig. 1 </span>hashed alt</figcaption></figure>'
        f'<figure><img alt="A numbered figure" src="data:image/png;base64,{png}">'
        '<figcaption><span class="caption-number">Fig. 2 </span>A numbered figure</figcaption></figure>'
        '<mjx-container display="true" style="display: block; overflow-x: auto">'
        '<span style="display: inline-block; width: 900px">wide</span></mjx-container>'
        '<p>as shown in <a href="#r0123456789ab-1">[R0123456789ab-1]</a>, not [1]</p></article>'
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.set_content(page_html)
            page.evaluate("() => Promise.all([...document.images].map(i => i.decode()))")
            r = page.evaluate(_MEASURE, str(ROOT))
        finally:
            browser.close()
    assert [m["box"] for m in r["clipped_math"]] == [688] and r["clipped_math"][0]["width"] >= 900
    assert [(f["shown"], f["natural"]) for f in r["shrunk_figures"]] == [(200, 400)]
    assert len(r["wide_outputs"]) == 1 and r["wide_outputs"][0]["line"] == "x" * 80
    # the output image outside a figure, and the figure whose alt is its file name; not Fig. 2
    assert [im["alt"] for im in r["unnamed_figures"]] == ["", f"../_images/{'ab' * 20}.png"]
    assert r["internal_citations"] == ["R0123456789ab-1"]
    results = {"book/made_up": {**{c: [] for c in FAILING}, **r, "missing_math": False}}
    assert {line.split(":")[1].strip() for line in failures(results)} == {
        "clipped_math", "shrunk_figures", "wide_outputs", "unnamed_figures", "internal_citations"}


def search_served_book(html: Path, query: str = "Sinkhorn") -> dict:
    """Serve ``html`` over HTTP on a free local port (as ``make serve`` does) and search it in
    Chromium: the result titles, the console errors and the requests off the machine."""
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    errors: list[str] = []
    external: list[str] = []

    def route(r):
        if r.request.url.startswith((base, "data:", "blob:")):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport=VIEWPORT)
                page.route("**/*", route)
                page.on("console", lambda m: m.type == "error" and errors.append(m.text))
                page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
                page.goto(f"{base}/search.html?q={query}", wait_until="load")
                # Sphinx's search writes its summary ("Search finished, found N pages ...") last
                page.wait_for_function(
                    "() => /found/i.test((document.querySelector('#search-results .search-summary')"
                    " || {}).textContent || '')", timeout=30_000)
                titles = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.textContent)")
                snippets = page.eval_on_selector_all("#search-results li p.context, #search-results li .context",
                                                     "els => els.length")
            finally:
                browser.close()
    finally:
        server.shutdown()
    return {"titles": titles, "snippets": snippets, "console_errors": errors, "external_requests": external}


def test_search_finds_the_chapters_on_the_served_book(tmp_path_factory):
    reason = _skip_reason()
    if reason:
        missing_system(reason)
    found = search_served_book(built_html(tmp_path_factory.mktemp("book")))
    assert not found["console_errors"] and not found["external_requests"], found
    assert len(found["titles"]) >= 5, found["titles"]
    assert any("Sinkhorn" in t for t in found["titles"]), found["titles"]
    assert found["snippets"] > 0  # the page text behind each hit, not titles only


if __name__ == "__main__":
    reason = _skip_reason()
    if reason:
        sys.exit(reason)
    html = (Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "_build" / "html").resolve()  # file URIs need it
    res = check_book(html)
    print(summary(res))
    bad = failures(res)
    print("\n".join(bad) or "all failing checks pass")
    sys.exit(1 if bad else 0)
