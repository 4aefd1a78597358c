"""Simplified Chinese beside English: the catalogs, the extractor, the language of a run, and every page in Chinese.

After a merge brings new `_()` strings, `test_every_message_has_a_chinese_translation` lists the ids that lack one:
run `python -m core.i18n extract`, fill them in `locale/zh/LC_MESSAGES/overfit_lab.po`, and `python -m core.i18n check`.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from pathlib import Path

import pytest

from core import i18n
from core.i18n import MessageError, Msg, _, set_language, translate
from tests.conftest import ROOT, load_page
from ui.navigation import PAGES as NAVIGATION

CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")

# Texts a Chinese page may show without a Chinese character: identifiers shared across languages (formats, parameter
# values, math, code) and computed tables of them. Anything else English-only is a string someone forgot to wrap.
ALLOWED = [
    r"csv|json|parquet|markdown|html|latex",  # export formats (download buttons)
    r"x₁|x₂|autograd|w|b|id|x1|x2",  # math symbols and names of code
    r"\|.*\|",  # a Markdown summary table: its header is store columns, exported as they are
    r"#\d+ .*",  # a run's label: id, study id and the parameters that tell it apart (identifiers)
    r"[\w.]+ = [-\w., +]+( · [\w.]+ = [-\w., +]+)*",  # a sweep axis or config: `lr = 0.003, 0.01, 0.1`
]
ALLOWED_RE = re.compile("|".join(f"(?:{a})" for a in ALLOWED))
TEXT_KINDS = {"Markdown", "Caption", "Title", "Header", "Subheader", "Info", "Warning", "Error", "Success", "Exception"}

def _tab_key(page: str) -> str | None:
    """The URL key of a page's tabs (`st.tabs(..., key="x.tab", bind="query-params")`), None without tabs."""
    found = re.search(r'st\.tabs\(.{0,600}?key="([^"]+)"', (ROOT / page).read_text(encoding="utf-8"), re.S)
    return found.group(1) if found else None


# Every page of the router (pages merged later are covered without editing this file) and the URL key of its tabs
PAGES = {p.path: _tab_key(p.path) for p in NAVIGATION}


def shown_texts(at) -> list[tuple[str, str, str]]:
    """(element kind, attribute, text) of every title, heading, paragraph, message, label, help and tab of a page."""
    out: list[tuple[str, str, str]] = []

    def walk(node) -> None:
        children = getattr(node, "children", None)
        for child in (children.values() if isinstance(children, dict) else []):
            walk(child)
        kind = type(node).__name__
        for attr in ("label", "help", "placeholder", "value"):
            if attr == "value" and kind not in TEXT_KINDS:
                continue
            try:
                text = getattr(node, attr)
            except Exception:  # noqa: BLE001 - an element without that attribute
                continue
            if isinstance(text, str) and text.strip():
                out.append((kind, attr, text))

    walk(at._tree)
    return out


def untranslated(at) -> list[str]:
    """The texts of a Chinese page with no Chinese character that are not identifiers on the allowlist."""
    return [f"{kind}.{attr}: {text[:90]!r}" for kind, attr, text in shown_texts(at)
            if not CJK.search(text) and not ALLOWED_RE.fullmatch(text.strip())]


# --- the catalogs ---------------------------------------------------------------------------------------------


def test_every_message_has_a_chinese_translation_with_the_same_placeholders():
    found = i18n.extract()
    assert not found.errors, "strings that cannot be translated:\n" + "\n".join(found.errors)
    lacking = i18n.missing("zh", found.ids)
    assert not lacking, (f"{len(lacking)} message ids have no Chinese entry (run `python -m core.i18n extract`, translate "
                         f"them in {i18n.po_path('zh').relative_to(ROOT)}):\n" +
                         "\n".join(f"  {m!r}  ({found.ids[m][0]})" for m in lacking))
    assert not i18n.mismatched("zh"), "placeholders differ:\n" + "\n".join(i18n.mismatched("zh"))
    assert len(found.ids) > 600  # the extractor really walks pages/, ui/, core/ and the declared names


def test_bold_and_italics_in_chinese_render():
    """CommonMark opens and closes ** and * only beside certain characters: '**权重。**次' stays literal asterisks
    (a closing ** after punctuation must be followed by a space or punctuation). Chinese has no spaces to help."""

    def punct(c: str) -> bool:
        return unicodedata.category(c).startswith(("P", "S"))

    broken = []
    entries = i18n.parse_po(i18n.po_path("zh").read_text(encoding="utf-8"))  # obsolete ones too: they may come back
    for text in [e.msgstr for e in entries if e.msgid and e.msgstr]:
        t = re.sub(r"`[^`]*`", lambda m: "x" * len(m.group()), text)  # code spans hold literal asterisks
        t = re.sub(r"\{[^{}]*\}", "x", t)  # a placeholder's value is usually a word or a number
        for delim in (r"\*\*", r"(?<![*])\*(?![*])"):
            for k, m in enumerate(re.finditer(delim, t)):
                before = t[m.start() - 1] if m.start() else " "
                after = t[m.end()] if m.end() < len(t) else " "
                opens = not after.isspace() and (not punct(after) or before.isspace() or punct(before))
                closes = not before.isspace() and (not punct(before) or after.isspace() or punct(after))
                if not (opens if k % 2 == 0 else closes):
                    broken.append(f"{text[max(0, m.start() - 15):m.end() + 15]!r}")
    assert not broken, "emphasis that will show as asterisks (move the punctuation outside the **):\n" + "\n".join(broken)


def test_the_catalog_is_what_extract_writes(tmp_path):
    """The committed .po holds exactly the ids in use (no stale ones), as extract would leave it."""
    ids = list(i18n.extract().ids)
    entries = i18n.parse_po(i18n.po_path("zh").read_text(encoding="utf-8"))
    current = [e.msgid for e in entries if e.msgid and not e.obsolete]
    assert sorted(current) == sorted(ids), f"run `python -m core.i18n extract`: {sorted(set(ids) ^ set(current))[:10]}"


def test_a_missing_or_fuzzy_translation_falls_back_to_english(tmp_path, monkeypatch):
    po = tmp_path / "zh" / "LC_MESSAGES" / "overfit_lab.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr "Language: zh\\n"\n\nmsgid "train"\nmsgstr "训练"\n\n'
                  '#, fuzzy\nmsgid "test"\nmsgstr "测"\n\nmsgid "val"\nmsgstr ""\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(i18n, "_catalogs", {})
    assert translate("train", "zh") == "训练"
    assert translate("test", "zh") == "test"  # fuzzy: not trusted
    assert translate("val", "zh") == "val"  # empty
    assert translate("never seen", "zh") == "never seen"
    po.write_text("msgid \"train\nthis is not a po file", encoding="utf-8")  # broken: English, no exception
    assert translate("train", "zh") == "train"


def test_po_text_round_trips_escapes_long_lines_and_obsolete_entries():
    entries = [i18n.Entry("", "Language: zh\n"),
               i18n.Entry('a "quoted" \\ text\nwith a newline and a long tail ' + "word " * 40, "引号 \"x\"\n第二行",
                          references=["pages/a.py:3"]),
               i18n.Entry("gone", "已删", obsolete=True)]
    back = i18n.parse_po(i18n.format_po(entries))
    assert [(e.msgid, e.msgstr, e.obsolete) for e in back] == [(e.msgid, e.msgstr, e.obsolete) for e in entries]
    assert back[1].references == ["pages/a.py:3"]


def test_extract_reports_f_strings_and_update_keeps_translations(tmp_path, monkeypatch):
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "p.py").write_text(
        'from core.i18n import _, N_\nA = N_("kept")\n_("new {n}").format(n=1)\n_(f"bad {A}")\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "declared_labels", lambda: [])
    found = i18n.extract(tmp_path)
    assert list(found.ids) == ["kept", "new {n}"]
    assert len(found.errors) == 1 and "pages/p.py:4" in found.errors[0] and "f-string" in found.errors[0]
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "locale")
    po = tmp_path / "locale" / "zh" / "LC_MESSAGES" / "overfit_lab.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid "kept"\nmsgstr "保留"\n\nmsgid "old"\nmsgstr "旧"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "ROOT", tmp_path)
    counts = i18n.update_catalog("zh", found, root=tmp_path)
    assert counts == {"ids": 2, "added": 1, "obsolete": 1, "untranslated": 1}
    entries = {e.msgid: e for e in i18n.parse_po(po.read_text(encoding="utf-8"))}
    assert entries["kept"].msgstr == "保留" and entries["new {n}"].msgstr == "" and entries["old"].obsolete


# --- the language of a run -----------------------------------------------------------------------------------


def test_language_is_per_thread_and_a_new_thread_asks_the_resolver():
    seen = {}

    def worker(name, code=None):
        if code:
            set_language(code)
        seen[name] = _("test loss")

    try:
        threads = [threading.Thread(target=worker, args=("zh", "zh")), threading.Thread(target=worker, args=("en", "en"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert seen == {"zh": "测试损失", "en": "test loss"}
        assert _("test loss") == "test loss"  # this thread never set one: English (the CLI, the tests)
        i18n.set_resolver(lambda: "zh")  # as ui.language installs it: a fragment's thread asks the session
        t = threading.Thread(target=worker, args=("fragment",))
        t.start()
        t.join()
        assert seen["fragment"] == "测试损失"
    finally:
        from ui.language import _session_language

        i18n.set_resolver(_session_language)


def test_validation_errors_carry_a_message_id_and_stay_english_for_the_cli():
    from core.studies import get_study

    with pytest.raises(MessageError) as caught:
        get_study("polynomial").config({"degree": 99})
    assert str(caught.value) == "degree: 99 is not allowed; expected int in [0, 20]"
    assert caught.value.msg.render("zh") == "degree：不允许取 99；应为 [0, 20] 内的 int"
    assert isinstance(caught.value, ValueError)
    assert Msg("{name}: {value} is not allowed; expected {allowed}", name="x", value="1",
               allowed=Msg("one of {choices}", choices="a|b")).render("zh") == "x：不允许取 1；应为 a|b 之一"


def test_browser_language_from_locale_or_accept_language(monkeypatch):
    import streamlit as st

    from ui import language

    class Context:
        def __init__(self, locale, header):
            self.locale, self.headers = locale, {"Accept-Language": header} if header else {}

    for locale, header, expected in [("zh-CN", "", "zh"), (None, "fr-FR,zh-TW;q=0.8,en;q=0.5", "zh"),
                                     (None, "en;q=0.9,zh;q=0.95", "zh"), ("de-DE", "de", "en"), (None, None, "en")]:
        monkeypatch.setattr(st, "context", Context(locale, header))
        assert language.from_browser() == expected, (locale, header)


# --- the dashboard in both languages ---------------------------------------------------------------------------


def test_the_switch_keeps_lang_in_the_url_and_an_unknown_one_warns():
    at = load_page("dashboard.py", {"lang": "zh"})
    assert not at.exception
    assert at.sidebar.selectbox(key="lang.switch").value == "zh"
    assert at.title[0].value.startswith("Overfit Lab（")
    assert any("各页面讲什么" in s.value for s in at.subheader)
    at.sidebar.selectbox(key="lang.switch").set_value("en").run()
    assert at.subheader[0].value == "What each page teaches" and "lang" not in at.query_params
    at.sidebar.selectbox(key="lang.switch").set_value("zh").run()
    assert at.query_params["lang"] in (["zh"], "zh")
    bad = load_page("dashboard.py", {"lang": "xx"})
    assert not bad.exception
    assert [w.value for w in bad.warning if "lang='xx'" in w.value and "English" in w.value]
    assert bad.subheader[0].value == "What each page teaches"


@pytest.fixture
def train_nothing(monkeypatch):
    """Pages validate the configs they would train but train nothing (what a tab says before its results)."""
    import ui.runner

    def validated(study_id, values, *, folds=None, fold=None, **_kw):
        ui.runner.validate(study_id, values, folds, fold)

    def each(study_id, configs, *, folds=None, **_kw):
        for values, _label in configs:
            ui.runner.validate(study_id, values, folds)

    return lambda: (monkeypatch.setattr(ui.runner, "run", validated), monkeypatch.setattr(ui.runner, "run_each", each),
                    monkeypatch.setattr(ui.runner, "prefetch", lambda *a, **k: None))


@pytest.mark.parametrize("page", list(PAGES), ids=[p.split("/")[1][:-3] for p in PAGES])
def test_every_page_renders_in_both_languages_and_the_chinese_one_is_chinese(page, train_nothing):
    english = load_page(page, {})
    assert not english.exception, english.exception
    chinese = load_page(page, {"lang": "zh"})
    assert not chinese.exception, chinese.exception
    assert CJK.search(chinese.title[0].value) and chinese.title[0].value != english.title[0].value
    labels = [text for kind, attr, text in shown_texts(chinese) if attr == "label"]
    assert labels and all(CJK.search(t) or ALLOWED_RE.fullmatch(t) for t in labels)
    assert not untranslated(chinese), "shown in English on the Chinese page:\n" + "\n".join(untranslated(chinese))
    # every other tab too (bound to the URL by its label, which is translated): its text and widgets; its results
    # are captions from the catalog (checked above), so to keep this test short those tabs train nothing
    train_nothing()
    key = PAGES[page]
    tabs = [t.label for t in chinese.tabs]
    for tab in tabs[1:] if key else []:
        at = load_page(page, {"lang": "zh", key: tab})
        assert not at.exception, (tab, at.exception)
        assert not untranslated(at), f"shown in English on {page} → {tab}:\n" + "\n".join(untranslated(at))
