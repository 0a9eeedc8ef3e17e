"""Point the book's repository, issue, Binder and Colab buttons at a repository.

``_config.yml`` holds the book's one repository URL (``repository.url``), a placeholder until
the book has its public home. The publishing workflow runs this script before it builds, with
the repository it runs in, so that a fork publishes a book whose buttons open the fork::

    python tools/set_repository_url.py https://github.com/OWNER/NAME [--config _config.yml]

Only that one line changes (the file's comments and layout stay); a URL that is not a GitHub
repository's, or a config without ``repository.url``, is an error (exit status 2).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What a repository URL may be: https://github.com/OWNER/NAME (GitHub's own character set).
URL = re.compile(r"https://github\.com/[A-Za-z0-9-]+/[A-Za-z0-9._-]+")
#: The ``url:`` line of the top-level ``repository:`` block.
URL_LINE = re.compile(r"^(repository:[ \t]*\n(?:[ \t]+.*\n|[ \t]*#.*\n|\n)*?[ \t]+url:[ \t]*)(\S+)(.*)$", re.M)


def set_repository_url(text: str, url: str) -> str:
    """``text`` (a ``_config.yml``) with ``repository.url`` set to ``url``.

    Examples
    --------
    >>> set_repository_url("repository:\\n  url: https://github.com/a/b  # x\\n  branch: main\\n",
    ...                    "https://github.com/me/wat")
    'repository:\\n  url: https://github.com/me/wat  # x\\n  branch: main\\n'
    """
    if not isinstance(url, str) or not URL.fullmatch(url):
        raise ValueError(f"url must be a GitHub repository's, https://github.com/OWNER/NAME, got {url!r}")
    new, n = URL_LINE.subn(lambda m: m.group(1) + url + m.group(3), text, count=1)
    if n != 1:
        raise ValueError("the config has no repository.url line to set")
    return new


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("url", help="https://github.com/OWNER/NAME")
    p.add_argument("--config", default=str(ROOT / "_config.yml"))
    args = p.parse_args(argv)
    path = Path(args.config)
    try:
        path.write_text(set_repository_url(path.read_text(), args.url.removesuffix(".git").rstrip("/")))
    except (OSError, ValueError) as err:
        print(f"set_repository_url: error: {err}", file=sys.stderr)
        return 2
    print(f"{path}: repository.url = {args.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
