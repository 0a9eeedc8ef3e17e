"""Fixes to the book's HTML that a reader's browser would otherwise report as errors.

sphinx-thebe 0.3.1 adds its configuration script (``const THEBE_JS_URL = ...``) twice under
Sphinx 7.4, so every page threw "Identifier 'THEBE_JS_URL' has already been declared" in the
console (sphinx-togglebutton's one-line script is doubled the same way). This extension keeps
the first of the scripts that would reach a page identical.
``tests/book/test_browser.py`` fails on any console error, so it notices if this stops working.
"""

from __future__ import annotations


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        # The copies differ only in a filename of None against '' (an inline script either
        # way): compare what reaches the page.
        attributes = getattr(js, "attributes", {})
        key = (getattr(js, "filename", js) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    scripts[:] = kept


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
