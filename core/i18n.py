"""Translation of user-facing text: wrap every string a user reads in `_()`.

`_("Test MSE falls from {first} to {last}").format(first=..., last=...)` — the English text is the message id,
placeholders are named, and computed captions are built from them, so adding a language is adding a catalog:
`locale/<lang>/LC_MESSAGES/overfit_lab.po`, read at run time by the small parser below (no compile step, no
dependency). A message with no translation (or a fuzzy one) stays English; nothing here raises for a missing one.

The language is per thread of execution (a context variable): each Streamlit session runs its script in its own
thread and sets it at the top of the run (`ui.language`). A thread where it was never set (a fragment's rerun, a
thread a page starts) asks the resolver the UI installed (`set_resolver`), and otherwise stays English, as the CLI
and tests do.

Tooling, run from the project root:
  python -m core.i18n extract   # collect every _()/N_() literal of pages/, ui/, core/, dashboard.py into the .po
  python -m core.i18n check     # list untranslated ids and placeholder mismatches (exit status 1 if any)
"""

from __future__ import annotations

import ast
import contextvars
import re
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

DEFAULT_LANGUAGE = "en"
LANGUAGES = {"en": "English", "zh": "简体中文"}  # code → the language's own name, as the switch shows it
DOMAIN = "overfit_lab"
ROOT = Path(__file__).resolve().parents[1]
LOCALE_DIR = ROOT / "locale"
SOURCES = ("dashboard.py", "pages", "ui", "core")  # where extract looks for _() and N_()

_language: contextvars.ContextVar[str | None] = contextvars.ContextVar("overfit_lab_language", default=None)
_resolver: Callable[[], str | None] | None = None


def set_language(code: str) -> None:
    """Use language `code` for `_()` in this thread of execution (an unknown code means English)."""
    _language.set(code if code in LANGUAGES else DEFAULT_LANGUAGE)


def set_resolver(resolver: Callable[[], str | None] | None) -> None:
    """Where `_()` asks for the language when this thread never set one (the UI: the session's choice)."""
    global _resolver
    _resolver = resolver


def language() -> str:
    """The language `_()` translates into here."""
    code = _language.get()
    if code is None and _resolver is not None:
        try:
            code = _resolver()
        except Exception:  # noqa: BLE001 - a resolver that fails leaves the text readable, in English
            code = None
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def _(message: str) -> str:
    """The translation of `message` into the current language (the English text where there is none)."""
    return translate(message, language())


def N_(message: str) -> str:
    """Mark a string for translation without translating it now (declarations translated when shown)."""
    return message


def translate(message: str, code: str) -> str:
    """`message` in language `code`; English (the message itself) where the catalog has no translation."""
    if code == DEFAULT_LANGUAGE or not isinstance(message, str) or not message:
        return message
    return catalog(code).get(message) or message


# --- messages carried by errors -------------------------------------------------------------------------------


class Msg:
    """A message id with named values, rendered in the language current where it is shown.

    Values may be Msg themselves (translated too). `str()` gives the English, as the CLI and logs show it.
    """

    def __init__(self, msgid: str, **values: Any):
        self.msgid, self.values = msgid, values

    def render(self, code: str | None = None) -> str:
        """The message in language `code` (default: the current one), values filled in."""
        code = code or language()
        values = {k: v.render(code) if isinstance(v, Msg) else v for k, v in self.values.items()}
        for text in (translate(self.msgid, code), self.msgid):
            try:
                return text.format(**values)
            except (KeyError, IndexError, ValueError):  # a text with stray braces: an error line must still show
                continue
        return self.msgid

    def __str__(self) -> str:
        return self.render(DEFAULT_LANGUAGE)

    def __repr__(self) -> str:
        return f"Msg({self.msgid!r}, **{self.values!r})"


class Translated:
    """Mixin for an exception whose text is a `Msg`: `raise E(N_("{name}: no such file"), name=...)` or `E(msg)`.

    `str()` gives the English (the CLI, logs, tests); a page shows it translated with `error_text(exc)`.
    """

    def __init__(self, msg: "Msg | str", /, **values: Any):
        msg = msg if isinstance(msg, Msg) else Msg(msg, **values)
        super().__init__(str(msg))
        self.msg = msg

    def __reduce__(self):  # a worker process (joblib, Dask) sends it back whole, message id included
        return (type(self), (self.msg,))


class MessageError(Translated, ValueError):
    """A ValueError whose text is a `Msg`: English in `str()`, translated by `error_text(exc)` where a page shows it."""


class MsgText(str):
    """The English text of a `Msg` that keeps the message: a plain str to the CLI and tests, translated by
    `error_text` on a page (for lists of lines such as the rows a read left out)."""

    msg: Msg

    def __new__(cls, msg: Msg) -> "MsgText":
        text = super().__new__(cls, str(msg))
        text.msg = msg
        return text


def message(exc: BaseException) -> Msg:
    """The message of an error, to carry into another one: its `Msg`, or its plain text (shown as it is)."""
    msg = getattr(exc, "msg", None)
    return msg if isinstance(msg, Msg) else Msg("{text}", text=str(exc))


def error_text(exc_or_message: Any) -> str:
    """What a page shows for an error or message: translated when it carries a message id, else its plain text."""
    msg = getattr(exc_or_message, "msg", exc_or_message)
    return msg.render() if isinstance(msg, Msg) else str(exc_or_message)


# --- catalogs: a small .po reader and writer ------------------------------------------------------------------


@dataclass
class Entry:
    """One message of a .po file."""

    msgid: str
    msgstr: str = ""
    references: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    comments: list[str] = field(default_factory=list)  # translator comments ("# ...")
    obsolete: bool = False


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(text: str, where: str) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"{where}: expected a quoted string, got {text[:40]!r}")
    return re.sub(r'\\(.)', lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def parse_po(source: str, name: str = "<po>") -> list[Entry]:
    """The entries of a .po file's text, the header (msgid "") included; obsolete (#~) entries flagged."""
    entries: list[Entry] = []
    current: Entry | None = None
    part: str | None = None  # "msgid" or "msgstr": where a continuation line goes
    refs: list[str] = []
    flags: set[str] = set()
    comments: list[str] = []

    def finish() -> None:
        nonlocal current, part
        if current is not None:
            entries.append(current)
        current, part = None, None

    for number, raw in enumerate(source.splitlines(), 1):
        where = f"{name}:{number}"
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            finish()
            continue
        if line.startswith("#"):
            if current is not None and part == "msgstr":
                finish()
            if line.startswith("#:"):
                refs += line[2:].split()
            elif line.startswith("#,"):
                flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            elif line.startswith("# ") or line == "#":
                comments.append(line[2:])
            continue
        keyword, _sep, rest = line.partition(" ")
        if keyword == "msgid":
            finish()
            current = Entry(_unquote(rest, where), references=refs, flags=flags, comments=comments, obsolete=obsolete)
            refs, flags, comments = [], set(), []
            part = "msgid"
        elif keyword == "msgstr" and current is not None:
            current.msgstr = _unquote(rest, where)
            part = "msgstr"
        elif keyword in ("msgctxt", "msgid_plural") or keyword.startswith("msgstr["):
            raise ValueError(f"{where}: {keyword} is not used in this project's catalogs")
        elif line.startswith('"') and current is not None and part is not None:
            if part == "msgid":
                current.msgid += _unquote(line, where)
            else:
                current.msgstr += _unquote(line, where)
        else:
            raise ValueError(f"{where}: cannot read {line[:40]!r}")
    finish()
    return entries


def _wrapped(keyword: str, text: str, width: int = 100) -> list[str]:
    """`keyword "text"`, split over lines at spaces (and after newlines) as msgmerge does for long texts."""
    if len(text) + len(keyword) + 3 <= width and "\n" not in text[:-1]:
        return [f"{keyword} {_quote(text)}"]
    pieces = re.findall(r"[^ \n]* *\n?|[^ \n]+", text)
    lines, line = [], ""
    for piece in pieces:
        if not piece:
            continue
        if line and len(line) + len(piece) > width - 2:
            lines.append(line)
            line = ""
        line += piece
        if piece.endswith("\n"):
            lines.append(line)
            line = ""
    if line:
        lines.append(line)
    return [f'{keyword} ""'] + [_quote(chunk) for chunk in lines]


def format_po(entries: Iterable[Entry]) -> str:
    """A .po file's text from its entries (references and flags kept; obsolete entries written as #~)."""
    blocks = []
    for e in entries:
        lines = [f"# {c}".rstrip() for c in e.comments]
        if e.references and not e.obsolete:
            lines.append("#: " + " ".join(e.references))
        if e.flags:
            lines.append("#, " + ", ".join(sorted(e.flags)))
        body = _wrapped("msgid", e.msgid) + _wrapped("msgstr", e.msgstr)
        lines += [("#~ " + b) if e.obsolete else b for b in body]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def po_path(code: str) -> Path:
    """Where the catalog of language `code` lives."""
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


_catalogs: dict[str, tuple[float, dict[str, str]]] = {}


def catalog(code: str) -> dict[str, str]:
    """msgid → translation for language `code` (translated, not fuzzy, not obsolete), re-read when the file changes.

    A missing or unreadable catalog is an empty one: the text stays English rather than the page breaking.
    """
    path = po_path(code)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    cached = _catalogs.get(code)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        entries = parse_po(path.read_text(encoding="utf-8"), str(path))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        print(f"warning: {path} cannot be read ({exc}); showing English", file=sys.stderr)
        entries = []
    table = {e.msgid: e.msgstr for e in entries if e.msgid and e.msgstr and not e.obsolete and "fuzzy" not in e.flags}
    _catalogs[code] = (mtime, table)
    return table


# --- extraction and checks ------------------------------------------------------------------------------------


@dataclass
class Found:
    """Message ids found in the sources, where each is used, and the calls that cannot be extracted."""

    ids: dict[str, list[str]] = field(default_factory=dict)  # msgid → ["path:line", ...] in source order
    errors: list[str] = field(default_factory=list)  # "path:line: why"


def _source_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        p = root / name
        files += sorted(p.rglob("*.py")) if p.is_dir() else [p] if p.exists() else []
    return files


def extract(root: Path = ROOT) -> Found:
    """Every string literal passed to `_()` or `N_()` under the project's sources; an f-string or any other
    non-literal argument is an error (it cannot be looked up in a catalog)."""
    found = Found()
    for path in _source_files(root):
        rel = path.relative_to(root).as_posix()
        if rel == "core/i18n.py":
            continue  # this module defines _ and N_; its docstring examples are not messages
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")):
                continue
            where = f"{rel}:{node.lineno}"
            if len(node.args) != 1 or node.keywords:
                found.errors.append(f"{where}: {node.func.id}() takes exactly one string")
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                if arg.value:
                    found.ids.setdefault(arg.value, []).append(where)
            elif isinstance(arg, ast.JoinedStr):
                found.errors.append(f"{where}: an f-string inside {node.func.id}() cannot be translated; use named "
                                    "placeholders and .format()")
            elif node.func.id == "N_":
                found.errors.append(f"{where}: N_() marks a string literal only")
            # _(variable) translates an id marked elsewhere with N_(): nothing to extract here
    for msgid, where in declared_labels():
        found.ids.setdefault(msgid, []).append(where)
    return found


def declared_labels() -> list[tuple[str, str]]:
    """(message, where) of every declared text a page shows: the label of each metric, study parameter and runs-table
    column ('n_train' → 'n train', as `core.metrics.label` and `ui.widgets.param_input` show it), each parameter's
    and metric's help, each study's title, summary and default sweep's reason, each page's title and description.
    They are declared once, in plain English, and translated where they are shown."""
    from core import nn_basics, schema
    from core.metrics import DERIVED, METRICS
    from core.params import shared_params
    from core.studies import STUDIES
    from ui.navigation import PAGES  # a plain list: no Streamlit

    names: dict[str, str] = {}
    texts: list[tuple[str, str]] = []
    for m in [*METRICS.values(), *DERIVED.values()]:
        names.setdefault(m.name, "core/metrics.py")
        texts.append((m.help, f"core/metrics.py#{m.name}.help"))
    params = [("core/params.py", p) for p in shared_params().values()]
    for study in STUDIES.values():
        where = f"core/studies#{study.id}"
        texts += [(study.title, f"{where}.title"), (study.summary, f"{where}.summary")]
        if study.sweep is not None and study.sweep.why:
            texts.append((study.sweep.why, f"{where}.sweep"))
        params += [(where, p) for p in study.params]
    params += [("core/nn_basics.py", p) for p in nn_basics.PARAMS.values()]
    for where, p in params:
        names.setdefault(p.name, where)
        texts.append((p.help, f"{where}#{p.name}.help"))
    for n in [*schema.RUN_COLUMNS, *schema.RECORD_KEYS, *schema.HISTORY_KEYS, *schema.RUN_EXTRAS]:
        names.setdefault(n, "core/schema.py")
    for page in PAGES:
        texts += [(page.title, f"ui/navigation.py#{page.url_path}"), (page.teaches, f"ui/navigation.py#{page.url_path}")]
    return [(n.replace("_", " "), f"{where}#{n}") for n, where in names.items()] + [(t, w) for t, w in texts if t]


def placeholders(text: str) -> set[str]:
    """The named format fields of a message ({name}, {name!r}, {value:.3g} → name, value)."""
    names = set()
    try:
        for _lit, name, _spec, _conv in string.Formatter().parse(text):
            if name is not None:
                names.add(name)
    except ValueError:
        names.add("<unbalanced braces>")
    return names


def missing(code: str, ids: Iterable[str]) -> list[str]:
    """The ids with no translation in language `code`'s catalog."""
    table = catalog(code)
    return [i for i in ids if not table.get(i)]


def mismatched(code: str) -> list[str]:
    """Catalog entries whose translation's placeholders differ from the English: 'msgid → what differs'."""
    out = []
    for msgid, msgstr in catalog(code).items():
        a, b = placeholders(msgid), placeholders(msgstr)
        if a != b:
            out.append(f"{msgid!r}: placeholders {sorted(a)} in English, {sorted(b)} in {code}")
    return out


def _header(code: str) -> Entry:
    return Entry("", f"Project-Id-Version: Overfit Lab\nLanguage: {code}\nMIME-Version: 1.0\n"
                     "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n")


def update_catalog(code: str, found: Found, root: Path = ROOT) -> dict[str, int]:
    """Merge the extracted ids into language `code`'s .po: keep translations, add new ids empty, mark the ids no
    longer used obsolete (#~, their translation kept for when they return). Returns counts."""
    path = root / po_path(code).relative_to(ROOT)
    old = parse_po(path.read_text(encoding="utf-8"), str(path)) if path.exists() else []
    header = next((e for e in old if e.msgid == ""), None) or _header(code)
    by_id = {e.msgid: e for e in old if e.msgid}
    entries, added = [header], 0
    for msgid, refs in found.ids.items():
        e = by_id.pop(msgid, None)
        if e is None:
            e, added = Entry(msgid), added + 1
        # files only, not lines: a reference that moves with every edit would make every branch's catalog conflict
        files = [r.rsplit(":", 1)[0] if r.rsplit(":", 1)[-1].isdigit() else r for r in refs]
        e.obsolete, e.references = False, sorted(set(files), key=files.index)
        entries.append(e)
    obsolete = [e for e in by_id.values() if e.msgstr]  # an untranslated id that left the code is simply dropped
    for e in obsolete:
        e.obsolete, e.references = True, []
    entries += obsolete
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_po(entries), encoding="utf-8")
    return {"ids": len(found.ids), "added": added, "obsolete": len(obsolete),
            "untranslated": sum(1 for e in entries[1:] if not e.obsolete and not e.msgstr)}


def _main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m core.i18n", description="Extract and check message catalogs.")
    parser.add_argument("command", choices=["extract", "check"])
    parser.add_argument("--lang", action="append", help="language code (default: every one but English)")
    args = parser.parse_args(argv)
    codes = args.lang or [c for c in LANGUAGES if c != DEFAULT_LANGUAGE]
    unknown = [c for c in codes if c not in LANGUAGES or c == DEFAULT_LANGUAGE]
    if unknown:
        print(f"error: --lang {unknown[0]!r} is not a catalog language; known: {', '.join(list(LANGUAGES)[1:])}", file=sys.stderr)
        return 2
    found = extract()
    for err in found.errors:
        print(f"error: {err}", file=sys.stderr)
    status = 1 if found.errors else 0
    for code in codes:
        if args.command == "extract":
            counts = update_catalog(code, found)
            print(f"{po_path(code).relative_to(ROOT)}: {counts['ids']} ids, {counts['added']} new, "
                  f"{counts['untranslated']} untranslated, {counts['obsolete']} obsolete")
            _catalogs.pop(code, None)
        else:
            lacking = missing(code, found.ids)
            bad = mismatched(code)
            for msgid in lacking:
                print(f"{code}: untranslated: {msgid!r}  ({found.ids[msgid][0]})")
            for line in bad:
                print(f"{code}: {line}")
            print(f"{code}: {len(found.ids)} ids, {len(lacking)} untranslated, {len(bad)} placeholder mismatches",
                  file=sys.stderr)
            status = 1 if lacking or bad or status else 0
    return status


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
