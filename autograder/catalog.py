"""The message catalogs, kept in step with the code (Babel; the instructor's and the kit's
own tool, never needed at run time: ``autograder.i18n`` reads the compiled ``.mo`` files with
the standard library's ``gettext``).

``python -m autograder i18n`` extracts every message marked with ``_()``, ``tr()`` or ``N_()``
from the package, merges them into each language's ``.po`` (new messages arrive empty, gone
ones are dropped) and compiles the ``.mo``; ``--check`` only reports what is out of step: a
message without a translation, a translation whose ``{placeholders}`` differ from the
English, or a ``.mo`` older than its ``.po``.
"""
import io
import re
from pathlib import Path

from autograder.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

PACKAGE = Path(__file__).resolve().parent
KEYWORDS = {"_": None, "tr": None, "N_": None}
_PLACEHOLDER = re.compile(r"{(\w+)}")


def extract():
    """The messages the code marks, as a Babel ``Catalog``."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir
    catalog = Catalog(project="pytorch-exercise-kit", charset="utf-8")
    for filename, _line, message, comments, context in extract_from_dir(
            str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS):
        catalog.add(message, None, [(filename, 0)], auto_comments=comments, context=context)
    return catalog


def po_path(lang):
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang):
    return po_path(lang).with_suffix(".mo")


def read(lang):
    from babel.messages.pofile import read_po
    with open(po_path(lang), "rb") as handle:
        return read_po(handle, locale=lang)


def problems(lang):
    """What is out of step between the code, the ``.po`` and the ``.mo`` of ``lang``."""
    found = []
    if not po_path(lang).is_file():
        return [f"{po_path(lang).relative_to(PACKAGE.parent)} is missing"]
    translated = read(lang)
    for message in extract():
        if not message.id:
            continue
        entry = translated.get(message.id)
        if entry is None or not entry.string:
            found.append(f"{lang}: no translation of {message.id!r}")
            continue
        if set(_PLACEHOLDER.findall(message.id)) != set(_PLACEHOLDER.findall(entry.string)):
            found.append(f"{lang}: the placeholders of {message.id!r} differ in its translation "
                         f"{entry.string!r}")
    if not mo_path(lang).is_file() or _compiled(translated) != mo_path(lang).read_bytes():
        found.append(f"{lang}: {mo_path(lang).name} is not compiled from the current "
                     f"{po_path(lang).name} (run python -m autograder i18n)")
    return found


def _compiled(catalog):
    from babel.messages.mofile import write_mo
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def update():
    """Merge the code's messages into every language's ``.po`` and compile its ``.mo``;
    return the paths written."""
    from babel.messages.pofile import write_po
    template = extract()
    written = []
    for lang in LANGUAGES:
        if lang == "en":
            continue
        catalog = read(lang)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with open(po_path(lang), "wb") as handle:
            write_po(handle, catalog, omit_header=False, no_location=True, sort_output=True,
                     width=100)
        mo_path(lang).write_bytes(_compiled(read(lang)))
        written += [po_path(lang), mo_path(lang)]
    return written
