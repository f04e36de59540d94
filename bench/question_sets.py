"""The question sets the fitting benches share (bench/cv.py, bench/fit_phrase.py): every set with gold answers.

A set is named as under shared/evaldata (``xquad-dev``, ``seed``) or given as a folder path; its articles are
the folder's ``articles/``, except the seed set's, which are the project's own ``seeds/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVALDATA = ROOT.parent / "shared" / "evaldata"
DEFAULT = ["xquad-dev", "seed", str(ROOT / "bench" / "newsdev"), str(ROOT / "bench" / "newswire")]


@dataclass(frozen=True)
class QuestionSet:
    name: str
    questions: Path
    articles: Path


def resolve(specs: list[str] | None) -> list[QuestionSet]:
    """The sets named (default: all of DEFAULT), skipping any that is not on this machine."""
    sets = []
    for spec in specs or DEFAULT:
        folder = Path(spec) if "/" in spec else EVALDATA / spec
        articles = folder / "articles" if (folder / "articles").is_dir() else ROOT / "seeds"
        if (folder / "questions.jsonl").exists():
            sets.append(QuestionSet(folder.name, folder / "questions.jsonl", articles))
    return sets
