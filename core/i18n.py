"""Translation of user-facing text: wrap every string a user reads in `_()`.

`_("Test MSE falls from {first} to {last}").format(first=..., last=...)` — the English text is the message id,
placeholders are named, and computed captions are built from them, so adding a language is adding a catalog.
Until a catalog exists for the current language, `_()` returns the English text unchanged.

The language is per thread of execution (a context variable): each Streamlit session runs its script in its own
thread and sets it at the top of the run; the CLI and tests stay English.
"""

from __future__ import annotations

import contextvars

DEFAULT_LANGUAGE = "en"
_language: contextvars.ContextVar[str] = contextvars.ContextVar("overfit_lab_language", default=DEFAULT_LANGUAGE)


def set_language(code: str) -> None:
    """Use language `code` for `_()` in this thread of execution."""
    _language.set(code)


def language() -> str:
    """The language `_()` translates into here."""
    return _language.get()


def _(message: str) -> str:
    """The translation of `message` into the current language (the English text where there is none)."""
    return message


def N_(message: str) -> str:
    """Mark a string for translation without translating it now (declarations translated when shown)."""
    return message
