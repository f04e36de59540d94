"""Load stage: formats, encodings, cleaning, and clear errors for bad files."""

from __future__ import annotations

import pytest
from conftest import SEED_ARTICLE

from assistant import errors
from assistant.ingest.loaders import load_article

LIMIT = 1_000_000


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


def test_markdown_front_matter_and_heading(tmp_path):
    path = tmp_path / "note.md"
    path.write_text("---\ntitle: Front title\nurl: https://example.org/a\ndate: 2020-05-01\n---\n# Heading\n\nBody text here.\n")
    article = load_article(path, max_bytes=LIMIT)
    assert (article.title, article.url, article.published) == ("Front title", "https://example.org/a", "2020-05-01")
    assert "Body text here." in article.text


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
def test_bad_files_get_errors_naming_the_file(tmp_path, name, content, error, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error) as caught:
        load_article(path, max_bytes=LIMIT)
    assert name in str(caught.value)
    assert message in str(caught.value).lower()


def test_missing_path(tmp_path):
    with pytest.raises(errors.SourceNotFound, match="nope.txt"):
        load_article(tmp_path / "nope.txt", max_bytes=LIMIT)


def test_oversized_file_is_rejected_unread(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)
    with pytest.raises(errors.FileTooLarge, match="big.txt"):
        load_article(path, max_bytes=100)
