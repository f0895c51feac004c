#!/usr/bin/env python3
"""Points a published copy of a run's report.html at what its published folder holds.

scripts/publish_example_report.sh copies a run's report.html into a folder with only part of the run's files. This
rewrites the copy's Files section (templates/report.mustache: one `<li><a href="NAME">NAME</a> (SIZE): ABOUT</li>`
per file) so that no link is dead:
  - an HDF5 file the folder holds (the copies of scripts/publish_hdf5.py) keeps its link and size, followed by
    "published copy" with the copy's size (what the copy leaves out: the README.md one level up);
  - a file the folder does not hold (activations.h5, fields.h5, prune.h5, ...) keeps its name, size and description
    without a link, and says it is not in the published copy;
  - the h5py example opens the folder's analysis.h5 by its name instead of the run folder's absolute path (where the
    folder holds one).
Everything else is left as written: the run directory and the command line are provenance. Running it again on a
rewritten copy changes nothing unless the folder's files changed (a copy removed since loses its link).

Usage:
  python3 scripts/publish_report_html.py FOLDER       # rewrites FOLDER/report.html in place (a staged copy)
"""
from __future__ import annotations

import argparse
import os
import re
import sys

# One item of the Files section as the report template writes it; SIZE never holds a parenthesis.
FILE_ITEM = re.compile(r'<li><a href="(?P<name>[^"/]+)">(?P=name)</a> \((?P<size>[^()]*)\): (?P<about>.*?)</li>')
H5PY_PATH = re.compile(r'h5py\.File\(&quot;[^&]*/analysis\.h5&quot;\)')
PUBLISHED_MARK = "published copy"


def file_size_text(size: int) -> str:
    """A byte count as the report writes it (Foundation's ByteCountFormatter, file style: powers of 1000)."""
    if size < 1000:
        return f"{size} bytes"
    for unit, digits in (("KB", 0), ("MB", 1), ("GB", 2), ("TB", 2)):
        size_in_unit = size / 1000 ** ("KMGT".index(unit[0]) + 1)
        if size_in_unit < 1000 or unit == "TB":
            text = f"{size_in_unit:.{digits}f}"
            return (text.rstrip("0").rstrip(".") if "." in text else text) + " " + unit
    raise AssertionError("unreachable")


def rewrite(html: str, folder: str) -> str:
    """The report's HTML with its Files section pointed at the files of `folder`."""

    def item(match: re.Match[str]) -> str:
        name, about = match["name"], match["about"]
        size = match["size"].split(PUBLISHED_MARK)[0].rstrip("; ")   # the run's file size, as the report wrote it
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            return f"<li>{name} ({size}): {about}; not in this published copy</li>"
        if name.endswith(".h5"):
            copy_size = file_size_text(os.path.getsize(path))
            return (f'<li><a href="{name}">{name}</a> ({size}; {PUBLISHED_MARK}: {copy_size}, what it leaves out: '
                    f'<a href="../README.md">README.md</a>): {about}</li>')
        return match[0]

    html = FILE_ITEM.sub(item, html)
    if os.path.exists(os.path.join(folder, "analysis.h5")):
        html = H5PY_PATH.sub("h5py.File(&quot;analysis.h5&quot;)", html)
    return html


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a published run folder holding report.html")
    folder = parser.parse_args().folder
    report = os.path.join(folder, "report.html")
    try:
        with open(report, encoding="utf-8") as handle:
            html = handle.read()
    except OSError as error:
        print(f"publish_report_html.py: {report}: {error.strerror}; pass a run folder with report.html", file=sys.stderr)
        return 1
    rewritten = rewrite(html, folder)
    if rewritten != html:
        temporary = report + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(rewritten)
        os.replace(temporary, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
