"""numpydoc's treatment of module docstrings, for the API reference (``book/api/``).

numpydoc 1.x rewrites the sections of function and class docstrings (``References``,
``Examples``, ...) as rubrics, but leaves a module docstring's sections as reST sections. On the
API pages those sections then clash from page to page ("duplicate label references"), and the
``.. [1]`` entries of a module's References, cited nowhere in its text, are reported as
unreferenced citations. This extension parses module docstrings the way numpydoc parses the
others, just before numpydoc's own handlers run. numpydoc drops a section it does not know
(``watlib.noise``'s "Convention"), so such a heading becomes a rubric first and its text stays.

numpydoc renames each docstring's ``[1]`` to ``[R<hash>-1]`` so that references stay apart
from page to page, and relabels them back only where it finds the citation next to its
reference; a citation it misses showed the internal id to the reader ("[Rf1d4a92c6aa3-1]" in
the text where the list says [1]). Once the page is resolved, every label left in that form
is shortened to its number (:func:`_shorten_citation_labels`).
"""

from __future__ import annotations

import re

from docutils import nodes
from numpydoc.docscrape import NumpyDocString
from numpydoc.docscrape_sphinx import get_doc_object

_UNDERLINE = re.compile(r"^-{3,}$")
#: numpydoc's mangled citation label: "R" and 12 hex digits (numpydoc.numpydoc.HASH_LEN), "-", number.
_MANGLED = re.compile(r"\[?R[0-9a-f]{12}-(\d+)\]?")


def _module_docstring(app, what, name, obj, options, lines):
    if what != "module" or not lines:
        return
    known = set(NumpyDocString.sections)
    for i in range(len(lines) - 1):
        title = lines[i].strip()
        if title and title not in known and _UNDERLINE.match(lines[i + 1].strip()):
            lines[i], lines[i + 1] = f".. rubric:: {title}", ""
    doc = get_doc_object(obj, "module", "\n".join(lines), config={}, builder=app.builder)
    lines[:] = str(doc).split("\n")


def _shorten_citation_labels(app, doctree, docname):
    """Replace every text ``[R<hash>-N]`` (or ``R<hash>-N``, a citation's own label) by ``[N]``
    (``N``): the number the list of references shows."""
    for text in list(doctree.findall(nodes.Text)):
        full = _MANGLED.fullmatch(text.astext())
        if full:
            bracketed = text.astext().startswith("[")
            number = full.group(1)
            text.parent.replace(text, nodes.Text(f"[{number}]" if bracketed else number))


def setup(app):
    app.setup_extension("numpydoc")
    # numpydoc connects its handlers at the default priority, 500: run first.
    app.connect("autodoc-process-docstring", _module_docstring, priority=400)
    app.connect("doctree-resolved", _shorten_citation_labels)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
