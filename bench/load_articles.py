"""The articles bench/load.py uploads during the load: synthetic, each with a coined name and facts no other
article has, so that the bench can ask whether each became answerable."""

from __future__ import annotations

import random
from dataclasses import dataclass

SYLLABLES = "bra cor dal ven mir tol sha kes quin por lum zar fen gal hob tir nev osk rud wyn".split()
TRADES = ("lighthouse", "ferry", "museum", "observatory", "brewery", "library", "bakery", "foundry", "orchard",
          "quarry")
NOUNS = ("harbour", "council", "bridge", "festival", "archive", "railway", "market", "canal", "meadow", "tunnel",
         "school", "choir", "mill", "garden", "square")
VERBS = ("welcomed", "recorded", "counted", "reported", "hosted", "registered")
OPINIONS = (
    "Residents said the change was overdue.",
    "Local officials described the figures as encouraging.",
    "Critics argued that the money would have been better spent elsewhere.",
    "The decision surprised many of the older residents.",
    "Visitors praised the view from the old walls.",
    "Shopkeepers reported a busy season.",
)


@dataclass
class SyntheticArticle:
    name: str
    text: str
    question: str
    answer: str


def coined(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def synthetic_articles(n: int, paragraphs: int, seed: int) -> list[SyntheticArticle]:
    """Sentence-y reports about invented towns; each holds one fact a question can ask for."""
    rng = random.Random(seed)
    used: set[str] = set()
    articles = []
    for i in range(n):
        town = coined(rng, 3)
        while town in used:
            town = coined(rng, 3)
        used.add(town)
        trade = rng.choice(TRADES)
        keeper = f"{coined(rng, 2)} {coined(rng, 3)}"
        year = rng.randint(1950, 2015)
        fact = (f"The {trade} of {town} has been run by {keeper} since {year}, "
                f"and {keeper.split()[0]} still opens it every morning.")
        body = []
        for j in range(paragraphs):
            sentences = [
                f"In {1990 + j}, the {rng.choice(NOUNS)} of {town} {rng.choice(VERBS)} "
                f"{rng.randint(12, 9000)} visitors, {rng.choice(['up', 'down'])} from the year before."
                for _ in range(3)
            ]
            sentences.append(f"The {rng.choice(NOUNS)} near the {rng.choice(NOUNS)} was repaired at a cost of "
                             f"{rng.randint(2, 90)} thousand pounds.")
            sentences.append(rng.choice(OPINIONS))
            if j == paragraphs // 2:
                sentences.insert(1, fact)
            body.append(" ".join(sentences))
        text = f"{town} town report\n\n" + "\n\n".join(body) + "\n"
        question = f"Who runs the {trade} of {town}?"
        articles.append(SyntheticArticle(f"load-{i:03d}-{town.lower()}.txt", text, question, keeper))
    return articles
