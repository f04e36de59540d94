"""Load stage: formats, encodings, cleaning, and clear errors for bad files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import SEED_ARTICLE

from assistant import errors
from assistant.ingest.cleaning import _unwrapped, clean_text
from assistant.ingest.loaders import load_article

LIMIT = 1_000_000


@pytest.mark.fast
def test_seed_article_is_cleaned_of_furniture_and_repeats():
    article = load_article(SEED_ARTICLE, max_bytes=LIMIT)
    assert article.title == "Kerry in Moscow 'seeking joint bombing campaign in Syria'"
    assert article.published == "2016-07-14"
    text = article.text
    assert "3 min read" not in text
    assert "[Click to enlarge]" not in text
    assert "[Getty]" not in text  # the photo caption
    assert text.count("followed by a meeting with Foreign Minister Sergei Lavrov on Friday") == 1
    assert text.count("Kerry in Moscow 'seeking joint bombing campaign in Syria'") == 1
    assert "Joint Implementation Group" in text


@pytest.mark.fast
def test_markdown_front_matter_and_heading(tmp_path):
    path = tmp_path / "note.md"
    path.write_text("---\ntitle: Front title\nurl: https://example.org/a\ndate: 2020-05-01\n---\n# Heading\n\nBody text here.\n")
    article = load_article(path, max_bytes=LIMIT)
    assert (article.title, article.url, article.published) == ("Front title", "https://example.org/a", "2020-05-01")
    assert "Body text here." in article.text


@pytest.mark.fast
@pytest.mark.parametrize("url", ["javascript:alert(document.domain)//", "data:text/html,<script>1</script>",
                                 "https://e.example/a<img src=x onerror=alert(1)>", "not a link"])
def test_an_articles_own_link_is_kept_only_if_it_is_a_web_link(tmp_path, url):
    """Every surface links to it (citations, /v1 annotations, the reader): it must be an http(s) link or nothing."""
    path = tmp_path / "note.md"
    path.write_text(f"---\ntitle: Harbour\nurl: {url!r}\n---\nThe harbour reopened on Monday.\n")
    article = load_article(path, max_bytes=LIMIT)
    assert article.url is None and "reopened on Monday" in article.text


@pytest.mark.fast
def test_html_main_text_without_menus_or_scripts(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Harbour news</title><script>var tracker = 1;</script></head><body>"
        "<nav><ul><li>Home</li><li>Subscribe now</li></ul></nav>"
        "<article><h1>Harbour reopens</h1>"
        + "".join(f"<p>The harbour reopened on Monday after repairs, paragraph {i} of the story says.</p>" for i in range(6))
        + "</article><footer>Copyright footer</footer></body></html>"
    )
    article = load_article(path, max_bytes=LIMIT)
    assert "harbour reopened on Monday" in article.text
    assert "tracker" not in article.text
    assert "Subscribe now" not in article.text
    assert article.title in ("Harbour reopens", "Harbour news")


@pytest.mark.fast
def test_pdf_text_layer(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 10, "The lighthouse keeper counted 42 ships on Tuesday.")
    path = tmp_path / "report.pdf"
    pdf.output(str(path))
    article = load_article(path, max_bytes=LIMIT)
    assert "counted 42 ships" in article.text


def typeset_pdf(path, pages, *, header=None, footer=None, font=None):
    """A PDF drawn line by line at set places, as typesetters write one: ``header`` and ``footer`` (``{n}`` the
    page's number) in small type above and below each page's lines; ``font`` a TrueType file, for letters beyond
    Latin-1."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="A4")
    pdf.set_auto_page_break(False)
    family = "helvetica"
    if font:
        pdf.add_font("typeset", "", str(font))
        family = "typeset"
    for n, lines in enumerate(pages, 1):
        pdf.add_page()
        pdf.set_font(family, size=8)
        if header:
            pdf.text(72, 40, header.format(n=n))
        pdf.set_font(family, size=11)
        for i, line in enumerate(lines):
            pdf.text(72, 72 + 14 * i, line)
        pdf.set_font(family, size=8)
        if footer:
            pdf.text(280, 810, footer.format(n=n))
    pdf.output(str(path))
    return path


BRIDGE_PAGES = [
    ["Bridge repairs delayed again", "", "The chief engineer, Marta Kowalczyk, said the repairs to the northern",
     "lift bridge would cost about 14.2 million euros"],
    ["and would be finished by the end of September, the council said.", "",
     "The ferry operator Bluewake Lines will add a night crossing to Tallinn."],
    ["Harbour pilots will strike for 48 hours on 3 May unless their overtime", "pay is restored, the union said."],
]


@pytest.mark.fast
@pytest.mark.parametrize("footer", ["Harbor Quarterly | {n}", "{n}", "Page {n} of 3", "- {n} -", None])
def test_a_pdfs_running_header_footer_and_page_numbers_go_and_a_sentence_goes_on_over_a_page_break(tmp_path, footer):
    """Pages were joined as paragraphs: a sentence over a page break was cut in two, and its first half took the
    footer and the next page's header ("14.2 million euros Harbor Quarterly | 1"). The running header stays where
    it first stands (a line repeated at the top may be a title or a table's header row)."""
    header = "Harbor Quarterly, Spring Issue 2024" if footer else None
    path = typeset_pdf(tmp_path / "harbor.pdf", BRIDGE_PAGES, header=header, footer=footer)
    text = load_article(path, max_bytes=LIMIT).text
    assert text == (f"{header}\n" if header else "") + (
        "Bridge repairs delayed again\nThe chief engineer, Marta Kowalczyk, said the repairs to the northern lift "
        "bridge would cost about 14.2 million euros and would be finished by the end of September, the council said."
        "\nThe ferry operator Bluewake Lines will add a night crossing to Tallinn.\n\nHarbour pilots will strike "
        "for 48 hours on 3 May unless their overtime pay is restored, the union said.")


@pytest.mark.fast
def test_a_line_at_a_pages_edge_seen_once_or_a_one_page_pdf_is_kept_as_it_is(tmp_path):
    pages = [["Harbour news", "The ferry to Saltmarsh runs again.", "12"],
             ["Ferry times", "The first boat leaves at nine.", "Pier 4"],
             ["Tide tables", "High water is at noon.", "Pier 5"]]
    text = load_article(typeset_pdf(tmp_path / "edges.pdf", pages), max_bytes=LIMIT).text
    for line in ("Harbour news", "12", "Ferry times", "Tide tables"):  # each line once: body text, however short
        assert f"\n{line}\n" in f"\n{text}\n"
    assert "Pier" not in text  # "Pier #" at the bottom of two pages of three

    # A table's header row repeated at the top of each page, and numbers at the pages' edges in other places
    table = [["Ships by port", "Port Ships Tonnage Year", "Dover 12 1200 2020", "1200"],
             ["Port Ships Tonnage Year", "Calais 9 1350 2020", "1350", "2"],
             ["Port Ships Tonnage Year", "Ostend 4 1500 2021", "1500", "3"]]
    text = load_article(typeset_pdf(tmp_path / "ships.pdf", table), max_bytes=LIMIT).text
    assert text.split("\n") == ["Ships by port", "Port Ships Tonnage Year", "Dover 12 1200 2020", "1200",
                                 "Calais 9 1350 2020", "1350", "Ostend 4 1500 2021", "1500"]  # the page numbers go

    one = typeset_pdf(tmp_path / "one.pdf", [["Harbour news", "The ferry runs again.", "1"]], footer="Harbor | 1")
    assert load_article(one, max_bytes=LIMIT).text == "Harbour news\nThe ferry runs again.\n1\nHarbor | 1"


@pytest.mark.fast
def test_typeset_ligatures_are_read_as_their_letters_in_every_format(tmp_path):
    """A PDF's (or a page's) "ﬁnancial" was stored with U+FB01, so "financial" in a question never matched it."""
    import matplotlib

    dejavu = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"  # has the ligatures' glyphs
    written = "The chief ﬁnancial ofﬁcer conﬁrmed that the ﬂood barrier is ﬁnished: ﬀ ﬃ ﬄ ﬅ ﬆ."
    read = "The chief financial officer confirmed that the flood barrier is finished: ff ffi ffl st st."
    pdf = typeset_pdf(tmp_path / "flood.pdf", [["Flood defences", written]], font=dejavu)
    html = tmp_path / "flood.html"
    html.write_text(f"<html><head><title>Flood defences</title></head><body><article><h1>Flood defences</h1>"
                    f"{f'<p>{written}</p>' * 3}</article></body></html>", encoding="utf-8")
    txt = tmp_path / "flood.txt"
    txt.write_text(f"Ofﬁcial ﬂood defences\n\n{written} It covers 10 m² for ½ the cost, in ＦＵＬＬ.\n",
                   encoding="utf-8")
    for path in (pdf, html, txt):
        assert read in load_article(path, max_bytes=LIMIT).text, path.name
    article = load_article(txt, max_bytes=LIMIT)
    assert article.title == "Official flood defences"
    assert "10 m² for ½ the cost, in ＦＵＬＬ." in article.text  # only the ligatures: no NFKC


@pytest.mark.fast
def test_a_compound_hyphenated_at_a_line_break_keeps_its_hyphen_where_the_article_writes_it_so(tmp_path):
    """"self-" + "driving" was stored as "selfdriving": every hyphen at a line's end was taken for the typesetter's.
    One the article writes elsewhere ("self-driving", and not "selfdriving") is kept; any other goes, as most
    hyphens at a line break are the typesetter's ("engi-" + "neers", "law-" + "makers")."""
    lines = ["Orchard Report", "", "The agency hired forty new engi-", "neers, who consid-",
             "ered the self-", "driving tractors a long-", "term bet. The Vostra co-", "operative had over-",
             "estimated their cost; the cost was overestimated, said the co-operative's law-",
             "makers. Self-driving tractors stay."]
    text = load_article(typeset_pdf(tmp_path / "orchard.pdf", [lines]), max_bytes=LIMIT).text
    assert text == ("Orchard Report\nThe agency hired forty new engineers, who considered the self-driving tractors "
                    "a longterm bet. The Vostra co-operative had overestimated their cost; the cost was "
                    "overestimated, said the co-operative's lawmakers. Self-driving tractors stay.")
    # a line that goes on in lower case without a letter first ("ⓐ"): joined, never an error
    assert clean_text("Options for the co-\nⓐ first choice") == "Options for the co- ⓐ first choice"


@pytest.mark.fast
def test_a_paragraph_of_many_wrapped_lines_is_joined_in_linear_time():
    """Each line joined copied the paragraph so far: 300,000 short lines took 8 s, now a fraction of one."""
    lines = ["Title", "", "The town hall reopened after the repairs of the engi-", "neers"] + ["ab"] * 300_000
    started = time.monotonic()
    joined = _unwrapped(lines + ["and the self-", "driving bus.", "Next line."])
    assert joined == ["Title", "", "The town hall reopened after the repairs of the engineers " + "ab " * 300_000
                      + "and the selfdriving bus.", "Next line."]
    assert time.monotonic() - started < 2.0


@pytest.mark.fast
@pytest.mark.parametrize("metadata_title, title", [
    ("Microsoft Word - keeper.docx", "The lighthouse keeper's log"),  # a printer's title: the first line instead
    ("Untitled", "The lighthouse keeper's log"),
    ("Document1", "The lighthouse keeper's log"),
    ("Ships seen from the Fastnet light", "Ships seen from the Fastnet light"),  # the author's own title stays
])
def test_pdf_title_written_by_a_printer_is_not_the_title(tmp_path, metadata_title, title):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(metadata_title)
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 10, "The lighthouse keeper's log\n\nThe keeper counted 42 ships on Tuesday.")
    path = tmp_path / "keeper.pdf"
    pdf.output(str(path))
    assert load_article(path, max_bytes=LIMIT).title == title


@pytest.mark.fast
@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16"])
def test_legacy_encodings_are_read_correctly(tmp_path, encoding):
    text = "Café owners in Zürich met José on the “quay” — naïvely, façade by façade."
    if encoding == "latin-1":
        text = text.replace("“", '"').replace("”", '"').replace("—", "-")
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes(text.encode(encoding))  # Python's utf-16 codec writes a BOM
    article = load_article(path, max_bytes=LIMIT)
    assert "Café owners in Zürich met José" in article.text
    assert "façade" in article.text


@pytest.mark.parametrize(
    "name, content, error, message",
    [
        ("empty.txt", b"", errors.EmptyDocument, "empty"),
        ("binary.txt", bytes(range(256)) * 40, errors.UndecodableFile, "binary"),
        ("blank.txt", b"   \n\n\t\n", errors.EmptyDocument, "no readable text"),
        ("table.csv", b"a,b\n1,2\n", errors.UnsupportedFileType, "unsupported"),
    ],
)
@pytest.mark.fast
def test_bad_files_get_errors_naming_the_file(tmp_path, name, content, error, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error) as caught:
        load_article(path, max_bytes=LIMIT)
    assert name in str(caught.value)
    assert message in str(caught.value).lower()


@pytest.mark.fast
def test_missing_path(tmp_path):
    with pytest.raises(errors.SourceNotFound, match="nope.txt"):
        load_article(tmp_path / "nope.txt", max_bytes=LIMIT)


@pytest.mark.fast
def test_oversized_file_is_rejected_unread(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)
    with pytest.raises(errors.FileTooLarge, match="big.txt"):
        load_article(path, max_bytes=100)


@pytest.mark.fast
def test_a_markdown_line_too_long_for_a_paragraph_is_kept_as_written(tmp_path):
    """markdown-it's inline parse costs ~25-40 µs a character on a line of brackets: 300 KB of "![" took 8 s.
    A line over 20,000 characters that is one bracket in 50 or more is kept as written; prose, however long (a
    paragraph saved unwrapped), still reads as its text."""
    path = tmp_path / "long.md"
    prose = "The **harbour** reopened, says [the report](https://example.org/r). " * 600  # 40,000 characters
    path.write_text("# Brackets\n\n" + "![" * 150_000 + "\n\n" + "The **harbour** reopened. " * 700 + "\n\n" + prose + "\n")
    started = time.monotonic()
    text = load_article(path, max_bytes=LIMIT).text
    assert text == ("Brackets\n\n" + "![" * 150_000 + "\n\n" + ("The harbour reopened. " * 700).strip() + "\n\n"
                    + ("The harbour reopened, says the report. " * 600).strip())
    assert time.monotonic() - started < 2.0


DEEP_PAGE = ("<html><head><title>Lighthouse news</title></head><body>" + "<div>" * 300
             + "<p>The lighthouse was repainted by forty volunteers.</p>")


@pytest.mark.fast
@pytest.mark.parametrize("unclosed", ["<a" * 40_000, "<?" * 200_000, "<!--" * 100_000, "<p>Then more text <a href"],
                         ids=["tags", "instructions", "comments", "one-tag"])
def test_a_deep_page_ending_in_constructs_that_never_close_is_read_in_linear_time(tmp_path, unclosed):
    """Read flat (too deep for lxml), each unclosed "<a" was read as text up to the next "<", scanning to the end
    each time: 80 KB of them took 9 s and more. An unclosed construct runs to the end, as in a browser."""
    path = tmp_path / "deep.html"
    path.write_text(DEEP_PAGE + unclosed)
    started = time.monotonic()
    article = load_article(path, max_bytes=LIMIT)
    assert article.title == "Lighthouse news"
    expected = "The lighthouse was repainted by forty volunteers."
    assert article.text == (expected + "\n\nThen more text" if unclosed.startswith("<p>") else expected)
    assert time.monotonic() - started < 2.0


# --- Markdown front matter: plain scalars only -----------------------------------------------------

# Seven levels of ten aliases each: 338 bytes that expand to 10**7 strings (1.5 s, +80 MB) when the title is read.
BILLION_LAUGHS = (
    "---\n"
    "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
    + "".join(f"{n}: &{n} [{','.join(['*' + p] * 10)}]\n" for p, n in zip("abcdef", "bcdefg"))
    + "title: *g\n"
    "---\n"
    "# Laughs\n\nThe body of the article is short.\n"
)


def test_billion_laughs_front_matter_is_refused_at_once(tmp_path, make_assistant):
    bad = tmp_path / "laughs.md"
    bad.write_text(BILLION_LAUGHS)
    started = time.monotonic()
    with pytest.raises(errors.UndecodableFile) as caught:
        load_article(bad, max_bytes=LIMIT)
    assert time.monotonic() - started < 1.0  # expanded, it takes seconds and hundreds of MB
    assert "laughs.md" in str(caught.value) and "anchors/aliases" in caught.value.reason

    # Beside a good file in one ingest: the good one lands, the bad one is reported, nothing else changes.
    assistant = make_assistant()
    before = tmp_path / "before.txt"
    before.write_text("Harbour news\n\nThe harbour reopened on Monday after repairs.\n")
    assert assistant.ingest([before]).ok
    articles, vectors = [(a.id, a.chunks) for a in assistant.articles()], assistant.index.store.count()
    good = tmp_path / "good.md"
    good.write_text("---\ntitle: Ferry times\n---\nThe ferry to Saltmarsh Island leaves at nine o'clock.\n")
    report = assistant.ingest([bad, good])
    assert [path for path, _ in report.failed] == [str(bad)]
    assert "anchors/aliases" in report.failed[0][1]
    assert len(report.added) == 1 and not report.replaced
    after = [(a.id, a.chunks) for a in assistant.articles()]
    (new,) = [a for a in after if a not in articles]
    assert new[0] == report.added[0] and assistant.article(new[0]).title == "Ferry times"
    assert [a for a in after if a in articles] == articles
    assert assistant.index.store.count() == vectors + new[1]


@pytest.mark.fast
@pytest.mark.parametrize(
    "front, message",
    [
        ("title: &t Anchored\nurl: https://example.org/\n", "anchors/aliases"),
        ("title: Plain\nnote: " + "x" * 9000 + "\n", "over the 8,192-byte limit"),
        ("title:\n  text: A mapping\n", "'title' must be a plain value, not a mapping"),
        ("title: Plain\nurl: [https://a.example/, https://b.example/]\n", "'url' must be a plain value, not a list"),
        ("- just\n- a list\n", "must be key: value lines, not a list"),
        ("title: [unclosed\n", "not valid yaml at line"),
        ("title: Plain\ndate: 2020-13-45\n", "not valid yaml: month must be in 1..12"),
        ("title: " + "[" * 500 + "]" * 500 + "\n", "nests deeper than"),
    ],
    ids=["anchor", "too-big", "mapping", "list", "top-level-list", "malformed", "bad-date", "deep"],
)
def test_bad_front_matter_gets_a_clear_error_naming_the_file(tmp_path, front, message):
    path = tmp_path / "note.md"
    path.write_text(f"---\n{front}---\nBody text here.\n")
    with pytest.raises(errors.UndecodableFile) as caught:
        load_article(path, max_bytes=LIMIT)
    assert "note.md" in str(caught.value) and message in str(caught.value).lower()


@pytest.mark.fast
def test_blank_lines_after_the_opening_line_of_front_matter_are_read_past(tmp_path):
    path = tmp_path / "note.md"
    path.write_text("---  \n\n\t\n\ntitle: Spaced out\n---\n\n# Heading\n\nBody text here.\n")
    article = load_article(path, max_bytes=LIMIT)
    assert article.title == "Spaced out" and article.text == "Heading\n\nBody text here."


@pytest.mark.fast
def test_an_opening_line_then_only_blank_lines_is_read_in_linear_time(tmp_path):
    """Each blank line after "---" was one more start for the scan to the end: 31,000 of them took 14 s."""
    path = tmp_path / "open.md"
    path.write_text("---" + "\n" * 40_000 + "Body text here.")
    started = time.monotonic()
    article = load_article(path, max_bytes=LIMIT)
    assert article.text == "---\n\nBody text here." and article.title == "---"
    assert time.monotonic() - started < 2.0  # it was 20 s and more


@pytest.mark.fast
def test_front_matter_lists_under_other_keys_are_fine(tmp_path):
    path = tmp_path / "note.md"
    path.write_text("---\ntitle: Tagged\ntags: [harbour, ferry]\nauthor:\n  name: Ann\n---\nBody text here.\n")
    assert load_article(path, max_bytes=LIMIT).title == "Tagged"


# --- characters and encodings ----------------------------------------------------------------------

@pytest.mark.fast
def test_invisible_characters_are_removed_from_article_text(tmp_path):
    path = tmp_path / "jig.txt"
    path.write_text("Groups\n\nThe J\u200bIG is a group. Its in\u00adformation is \u2066shared\u2069.\ufeff\n")
    text = load_article(path, max_bytes=LIMIT).text
    assert "The JIG is a group. Its information is shared." in text


@pytest.mark.fast
def test_a_short_latin1_line_decodes_as_windows_1252(tmp_path):
    path = tmp_path / "cafe.txt"
    path.write_bytes(b"Caf\xe9 au lait costs four euros in M\xfcnchen.")
    assert load_article(path, max_bytes=LIMIT).text == "Café au lait costs four euros in München."


@pytest.mark.fast
@pytest.mark.parametrize(
    "encoding, text",
    [
        ("cp1251", "Президент России встретился с министром иностранных дел в Москве во вторник."),
        ("cp1253", "Ο πρωθυπουργός της Ελλάδας συναντήθηκε με τον υπουργό στην Αθήνα την Τρίτη."),
        ("cp1250", "Prezydent Polski spotkał się z ministrem w Łodzi we wtorek, żeby omówić budżet."),
    ],
)
def test_other_code_pages_are_not_read_as_windows_1252(tmp_path, encoding, text):
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes(text.encode(encoding))
    assert load_article(path, max_bytes=LIMIT).text == text


HARBOR_BODY = "<p>" + "The harbour bridge reopened after repairs that lasted two years and cost the town dearly. " * 4 + "</p>"


@pytest.mark.fast
@pytest.mark.parametrize(
    ("head", "footer", "published"),
    [
        ("", "<footer>© 2025 Harbor News</footer>", None),  # a copyright year is no publication date
        ("", "<footer>Copyright 2024 Harbor News. All rights reserved.</footer>", None),
        ('<meta property="article:published_time" content="2024-03-05">', "<footer>© 2025</footer>", "2024-03-05"),
    ],
)
def test_html_dates_come_from_the_page_metadata_never_a_copyright_line(tmp_path, head, footer, published):
    path = tmp_path / "harbor-bridge.html"
    path.write_text(f"<html><head><title>Harbor bridge</title>{head}</head><body><article>{HARBOR_BODY}</article>"
                    f"{footer}</body></html>")
    assert load_article(path, max_bytes=1_000_000).published == published


@pytest.mark.parametrize(("written", "day"), [
    ("March 5, 2024", "2024-03-05"), ("2024-04-20 09:15:00+01:00", "2024-04-20"), ("5 May 2024", "2024-05-05"),
    ('"2024-04-20T09:15:00Z"', "2024-04-20"), ("not yet", "not yet"),
])
def test_a_front_matter_date_is_kept_as_its_day(tmp_path, written, day):
    """Filters (published_from) and "most recent first" read YYYY-MM-DD: "March 5, 2024" was dropped by one and
    sorted as text by the other."""
    path = tmp_path / "dated.md"
    path.write_text(f"---\ntitle: Dated\ndate: {written}\n---\nThe tram line opened to passengers.\n")
    assert load_article(path, max_bytes=LIMIT).published == day


WRAPPED = """Ferry services suspended

The ferry to Saltmarsh will not run for the rest of the winter be-
cause of storm damage to the pier, the harbour office said on
Monday.
Page 1 of 2 - harbourgazette.example

Repairs are due to start in March.
- 2 -
"""


def test_a_hard_wrapped_or_pdf_like_text_keeps_whole_sentences(tmp_path, assistant_over):
    """Every line break ended a sentence: a PDF's or a hard-wrapped file's answers were half sentences."""
    path = tmp_path / "wrapped.txt"
    path.write_text(WRAPPED)
    text = load_article(path, max_bytes=LIMIT).text
    assert ("The ferry to Saltmarsh will not run for the rest of the winter because of storm damage to the pier, the "
            "harbour office said on Monday.") in text
    assert "Page 1 of 2" not in text and "- 2 -" not in text  # a printed page's number is no article text
    assert "Ferry services suspended\n\nThe ferry" in text  # a heading stays a line of its own
    answer = assistant_over({"wrapped.txt": WRAPPED}).ask("Why will the ferry to Saltmarsh not run?")
    assert "storm damage to the pier" in answer.answer and answer.citations[0].quote.endswith("on Monday.")


@pytest.mark.parametrize(("written", "read"), [
    ("Die neue Brü-\ncke wurde gebaut und die Stra-\nße auch.", "Die neue Brücke wurde gebaut und die Straße auch."),
    ("Die Stadt hat die neue Brücke\nüber den Rhein gebaut.", "Die Stadt hat die neue Brücke über den Rhein gebaut."),
    ("It was a long sum\u00ad\nmer in the town.", "It was a long summer in the town."),  # a soft hyphen at the break
    # a page ends in a form feed (pdftotext): a break, not nothing ("town hallThe bridge")
    ("The meeting was in the town hall\x0cThe bridge opened in 2015.", "The meeting was in the town hall\nThe bridge"),
])
def test_lines_and_words_broken_in_any_alphabet_are_joined_and_a_page_break_is_a_break(tmp_path, written, read):
    path = tmp_path / "broken.txt"
    path.write_text(f"Title\n\n{written}\n")
    assert read in load_article(path, max_bytes=LIMIT).text


def test_markdown_inline_markup_is_read_as_a_reader_sees_it(tmp_path):
    """Quotes carried "**4.4 per cent**" and "[GLAMOS](https://…)": the markup, not the article's words."""
    path = tmp_path / "glaciers.md"
    path.write_text("# Glaciers shrink\n\nSwiss glaciers lost **4.4 per cent** of their volume, says the "
                    "[GLAMOS network](https://glamos.example.ch).\n\n| 2022 | 6.0 % |\n\n```\n**code** stays\n```\n")
    text = load_article(path, max_bytes=LIMIT).text
    assert "Swiss glaciers lost 4.4 per cent of their volume, says the GLAMOS network." in text
    assert "| 2022 | 6.0 % |" in text and "**code** stays" in text and "glamos.example.ch" not in text


@pytest.mark.fast
def test_a_declared_charset_is_read_where_the_bytes_need_it_and_never_over_valid_utf8(tmp_path):
    from assistant.ingest.decoding import decode_bytes

    czech = "Praha je hlavní město České republiky, řekl starosta."
    where = tmp_path / "page.html"
    assert decode_bytes(where, czech.encode("iso-8859-2"), declared="iso-8859-2") == czech
    assert decode_bytes(where, czech.encode(), declared="iso-8859-2") == czech  # a wrong label on UTF-8
    assert decode_bytes(where, czech.encode(), declared="windows-1251") == czech
    assert decode_bytes(where, czech.encode("utf-16-le"), declared="UTF-16LE") == czech
    assert decode_bytes(where, b"Plain ASCII said to be UTF-16.", declared="utf-16") == "Plain ASCII said to be UTF-16."
    assert decode_bytes(where, b"+ADw-script+AD4-", declared="utf-7") == "+ADw-script+AD4-"  # browsers refuse it
    assert decode_bytes(where, czech.encode("iso-8859-2"), declared='"iso-8859-2"') == czech
    with pytest.raises(errors.UndecodableFile, match="NUL bytes"):
        decode_bytes(where, b"\x00\x01\x02binary" * 10, declared="iso-8859-2")


def test_an_html_file_is_read_in_the_charset_it_declares(tmp_path):
    """Turkish and Central European pages written in their code pages read as Western text: only their own
    <meta charset> says which, as browsers read it when the server says nothing (a link's HTTP charset comes first)."""
    for name, charset, title, body in (
        ("tr.html", "iso-8859-9", "Şişli haberleri", "Kadıköy feribotu Şişli'den kalkıyor ve iki yakayı bağlıyor."),
        ("pl.html", "windows-1250", "Łódź otwiera most", "Nowy most w Łodzi kosztował 40 milionów złotych."),
    ):
        page = (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">'
                f"<title>{title}</title></head><body><article><p>{body}</p></article></body></html>")
        (tmp_path / name).write_bytes(page.encode(charset))
        article = load_article(tmp_path / name, max_bytes=LIMIT)
        assert article.title == title and body in article.text, name
    # a charset named in another meta's words declares nothing: this page is windows-1252, as browsers read it
    page = ('<html><head><meta name="description" content="text/html; charset=iso-8859-5"><title>Café</title>'
            "</head><body><article><p>Le café ouvre après les travaux du port.</p></article></body></html>")
    (tmp_path / "fr.html").write_bytes(page.encode("cp1252"))
    assert load_article(tmp_path / "fr.html", max_bytes=LIMIT).title == "Café"


@pytest.mark.fast
def test_a_cookie_notice_is_page_furniture_but_an_article_about_cookies_stays():
    from assistant.ingest.cleaning import clean_text

    page = ("Ferry strike ends\n\nWe use cookies to improve your experience. By using this site you accept them.\n"
            "Accept all cookies\nCookie settings\n\nThe ferry strike ended on Monday after three days.\n\n"
            "Regulators said sites that use cookies must ask first; we use cookies, one publisher admitted, "
            "on every page.\n")
    text = clean_text(page)
    assert "improve your experience" not in text and "Accept all" not in text and "Cookie settings" not in text
    assert "The ferry strike ended on Monday" in text and "Regulators said sites that use cookies" in text
