"""Every figure's image gets its caption as alt text, unless the cell gives one.

A figure from a notebook cell is numbered and captioned by its cell's metadata
(``mystnb: {figure: {name: ..., caption: ...}}``); myst-nb then writes the image's file name
(a hash) as its alt text, which a screen reader reads out and a browser shows when the image
does not load. This extension puts the caption's text there instead, once, so that the
caption is written in one place. ``tests/book/test_browser.py`` fails a content image whose alt
text is its file name.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from docutils import nodes


def _alt_from_caption(app, doctree, docname):
    for figure in doctree.findall(nodes.figure):
        captions = list(figure.findall(nodes.caption))
        if not captions:
            continue
        text = " ".join(captions[0].astext().split())
        for image in figure.findall(nodes.image):
            alt = image.get("alt", "")
            uri = image.get("uri", "")
            if not alt or alt == uri or alt == PurePosixPath(uri).name:
                image["alt"] = text


def setup(app):
    app.connect("doctree-resolved", _alt_from_caption)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
