"""Author-year labels in the book's bibliography, the same text as its citations.

The text cites author-year (``bibtex_reference_style: author_year``: "(Arpit et al., 2017)"),
but pybtex's formatting styles label the list of references with ``alpha`` labels
("[AJB+17]") or numbers. This extension registers the pybtex formatting style
``author_year_plain``: pybtex's ``plain`` (entries sorted by author, year, title) whose labels
are made by the template sphinxcontrib-bibtex uses for a parenthetical author-year citation,
so an entry's label is exactly what a citation of it reads; two entries that would share a
label get "a", "b" after the year. ``_config.yml`` selects it with ``bibtex_default_style``.
"""

from __future__ import annotations

import string

import pybtex.plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
from sphinxcontrib.bibtex.style.template import join, year

STYLE = "author_year_plain"


def author_year(entry) -> str:
    """``"<authors>, <year>"`` as ``{cite:p}`` renders it (``"Arpit et al., 2017"``)."""
    ref = AuthorYearReferenceStyle()
    template = join(sep=ref.author_year_sep)[ref.person.author_or_editor_or_title(full=False), year]
    return template.format_data({"entry": entry, "style": ref}).render_as("text")


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels ``"Arpit et al., 2017"``; clashes become ``"..., 2017a"``, ``"..., 2017b"``."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [author_year(e) for e in entries]
        seen: dict[str, int] = {}
        for label in labels:
            seen[label] = seen.get(label, 0) + 1
        count: dict[str, int] = {}
        for label in labels:
            if seen[label] > 1:
                k = count.get(label, 0)
                count[label] = k + 1
                yield label + string.ascii_lowercase[k]
            else:
                yield label


class AuthorYearPlainStyle(PlainStyle):
    default_label_style = "author_year"


def _register():
    # force: Sphinx may load this module again in the same process (a second build)
    pybtex.plugin.register_plugin("pybtex.style.labels", "author_year", AuthorYearLabelStyle, force=True)
    pybtex.plugin.register_plugin("pybtex.style.formatting", STYLE, AuthorYearPlainStyle, force=True)


def setup(app):
    _register()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
