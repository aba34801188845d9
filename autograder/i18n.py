"""The language of everything a student or an instructor reads: English or Japanese.

Messages are written in English in the code, marked with ``_()`` (a whole sentence with
``{named}`` placeholders, filled in after translation with ``.format``), and translated
with the standard ``gettext`` catalogs under ``autograder/locale/<lang>/LC_MESSAGES/``
(``autograder.po``, compiled to ``autograder.mo``; Babel extracts and compiles them:
``python -m autograder i18n``). Texts that are data rather than code (a check's title, a
known mistake's title and explanation) carry their Japanese beside the English in the
manifest and in ``mistakes.toml`` (``title_ja``, ``explanation_ja``).

The language is chosen, first match wins, by ``set_language`` (the ``--lang`` option of the
plugin and of the CLI, or the ``autograder_lang`` ini setting through the plugin), the
environment variable ``AUTOGRADER_LANG``, then the locale (``LC_ALL``, ``LC_MESSAGES``,
``LANG``: Japanese when it starts with ``ja``), else English. A worker inherits it through
``AUTOGRADER_LANG``.
"""
import contextlib
import gettext
import os
from pathlib import Path

DOMAIN = "autograder"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "ja")
ENVIRONMENT = "AUTOGRADER_LANG"
README_NAMES = {"en": "README.md", "ja": "README.ja.md"}   # an assignment's README per language

_chosen = None          # set_language's choice, if any
_catalogs = {}


def normalize(value):
    """``"ja_JP.UTF-8"`` -> ``"ja"``; None for anything that names no supported language."""
    text = str(value or "").strip().lower().replace("-", "_")
    if not text:
        return None
    code = text.split(".")[0].split("_")[0]
    return code if code in LANGUAGES else None


def set_language(value):
    """Choose the language for this process (and, through the environment, its workers).
    Raises ValueError for a language the kit does not speak."""
    global _chosen
    code = normalize(value)
    if code is None:
        raise ValueError(f"unknown language {value!r}: choose one of {', '.join(LANGUAGES)}")
    _chosen = code
    os.environ[ENVIRONMENT] = code
    return code


def explicit():
    """The language chosen on purpose (``set_language``, or ``AUTOGRADER_LANG``), else None:
    what the locale would give does not count."""
    return _chosen or normalize(os.environ.get(ENVIRONMENT))


@contextlib.contextmanager
def speaking(lang):
    """Messages in ``lang`` inside the block (and in the workers started there), the language
    that was in use before after it. ``lang`` None or empty: nothing changes."""
    global _chosen
    if not lang:
        yield
        return
    chosen, environment = _chosen, os.environ.get(ENVIRONMENT)
    set_language(lang)
    try:
        yield
    finally:
        _chosen = chosen
        if environment is None:
            os.environ.pop(ENVIRONMENT, None)
        else:
            os.environ[ENVIRONMENT] = environment


def language():
    """The language in use: set_language's, else AUTOGRADER_LANG's, else the locale's."""
    if _chosen:
        return _chosen
    explicit = normalize(os.environ.get(ENVIRONMENT))
    if explicit:
        return explicit
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "")
        if value:   # the first one set decides, as the C library's locale lookup does
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def _catalog(code):
    if code not in _catalogs:
        _catalogs[code] = gettext.translation(DOMAIN, LOCALE_DIR, languages=[code],
                                              fallback=True)
    return _catalogs[code]


def _(message):
    """``message`` in the language in use (itself in English, or where no translation is)."""
    code = language()
    return message if code == "en" else _catalog(code).gettext(message)


def ngettext(singular, plural, count):
    code = language()
    if code == "en":
        return singular if count == 1 else plural
    return _catalog(code).ngettext(singular, plural, count)


def pick(english, japanese):
    """A text that is data (a check's title, a mistake's explanation): its Japanese form
    when Japanese is in use and one exists, else the English."""
    return japanese if language() == "ja" and japanese else english


def tr(text, /, **values):
    """``text`` translated, then its ``{named}`` placeholders filled in (any name, ``text``
    and ``message`` included: the text itself is positional only)."""
    return _(text).format(**values)


def N_(message):
    """Marks ``message`` for translation where it is defined, to be translated with ``_``
    where it is shown (a constant kept in English until then)."""
    return message
