"""numpydoc's treatment of module docstrings, for the API reference (``book/api/``).

numpydoc 1.x rewrites the sections of function and class docstrings (``References``,
``Examples``, ...) as rubrics, but leaves a module docstring's sections as reST sections. On the
API pages those sections then clash from page to page ("duplicate label references"), and the
``.. [1]`` entries of a module's References, cited nowhere in its text, are reported as
unreferenced citations. This extension parses module docstrings the way numpydoc parses the
others, just before numpydoc's own handlers run. numpydoc drops a section it does not know
(``watlib.noise``'s "Convention"), so such a heading becomes a rubric first and its text stays.
"""

from __future__ import annotations

import re

from numpydoc.docscrape import NumpyDocString
from numpydoc.docscrape_sphinx import get_doc_object

_UNDERLINE = re.compile(r"^-{3,}$")


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


def setup(app):
    app.setup_extension("numpydoc")
    # numpydoc connects its handlers at the default priority, 500: run first.
    app.connect("autodoc-process-docstring", _module_docstring, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
