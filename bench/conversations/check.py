#!/usr/bin/env python3
"""Validate questions.jsonl (follow-up questions in conversations over CNN/Daily Mail
articles). Standard library only.

Usage: python3 check.py [questions.jsonl] [--articles DIR]

Hard checks (any failure -> exit 1):
  * every line is a JSON object with exactly the keys
    id, question, history, answers, article, answerable, kind
  * ids unique, pattern conv-NN-tK with K >= 2; the history holds K-1 turns (1-3)
  * article: a bare file name of an existing file in the articles folder, the same
    for every line of a conversation NN, and not one of the articles that
    bench/newsreal/questions.jsonl uses
  * history: a list of {"question", "answer"}; each question non-empty; each answer
    either "The articles don't say." or ONE sentence quoted VERBATIM from the
    article followed by " [1]"
  * a conversation's lines agree: the history of tK+1 is the history of tK plus
    tK's own question, answered "The articles don't say." exactly when tK is
    unanswerable (and otherwise with a sentence holding tK's first gold span)
  * question non-empty, ends with '?'
  * answerable: 1-3 distinct gold spans, each 1-8 words, each VERBATIM
    (case-sensitive) in the article, not starting/ending inside a word
  * unanswerable: answers == []
  * kind one of elliptical, possessive, pronoun, fuller_name, standalone
  * the mix: >= 100 lines; elliptical + possessive >= 50% with each >= 15%;
    pronoun 10-20%; fuller_name 7-15%; standalone 7-15%; unanswerable 18-25%,
    spread over at least 4 kinds

Info (printed, never fails): counts per kind and answerable/unanswerable, per
article, and how many answerable follow-ups have their first gold span already
inside the conversation's last answer.
"""
import json
import os
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the shared set_check
from set_check import arguments, article_reader, gold_span_errors, json_rows, verdict  # noqa: E402

DEFAULT_ARTICLES = str(REPO.parent / "shared" / "evaldata" / "cnn-summary-dev" / "articles")
NEWSREAL = REPO / "bench" / "newsreal" / "questions.jsonl"
ID_RE = re.compile(r"^conv-(\d{2})-t(\d+)$")
KEYS = {"id", "question", "history", "answers", "article", "answerable", "kind"}
KINDS = ("elliptical", "possessive", "pronoun", "fuller_name", "standalone")
NO_ANSWER = "The articles don't say."
CITE = " [1]"
MIN_LINES = 100
# kind -> (min share, max share) of all lines
SHARE = {"pronoun": (0.10, 0.20), "fuller_name": (0.07, 0.15), "standalone": (0.07, 0.15)}
UNANS_SHARE = (0.18, 0.25)
# a sentence end inside a quote: a period/?/! right after a word (not an initialism such as
# U.S.), then a space and a capital
INNER_END = re.compile(r"(?<=[A-Za-z0-9\)])(?<!\.[A-Z])[.?!]['’\"]?\s+(?=['‘\"]?[A-Z])")


def main(argv):
    path, art_dir = arguments(argv, os.path.join(os.path.dirname(os.path.abspath(__file__)), "questions.jsonl"),
                              DEFAULT_ARTICLES)
    errors = []
    article_text = article_reader(art_dir)

    newsreal_articles = set()
    if NEWSREAL.is_file():
        for line in NEWSREAL.open(encoding="utf-8"):
            if line.strip():
                art = json.loads(line).get("article")
                if art:
                    newsreal_articles.add(art)

    rows = json_rows(path, KEYS, errors)

    seen_ids = set()
    convs = defaultdict(dict)  # NN -> {K: obj}
    good = []  # rows that passed the per-line checks

    for ln, o in rows:
        qid, q, hist, ans, art, able, kind = (o[k] for k in
                                             ("id", "question", "history", "answers", "article", "answerable", "kind"))
        where = f"line {ln} ({qid})"
        n_err = len(errors)
        if not isinstance(qid, str) or not ID_RE.match(qid):
            errors.append(f"{where}: bad id (want conv-NN-tK)")
            continue
        if qid in seen_ids:
            errors.append(f"{where}: duplicate id")
            continue
        seen_ids.add(qid)
        nn, k = map(int, ID_RE.match(qid).groups())
        if k < 2:
            errors.append(f"{where}: turn K must be >= 2 (turn 1 has no history)")
        if not isinstance(q, str) or not q.strip():
            errors.append(f"{where}: empty question")
        elif not q.rstrip().endswith("?"):
            errors.append(f"{where}: question does not end with '?'")
        if kind not in KINDS:
            errors.append(f"{where}: kind {kind!r} not one of {', '.join(KINDS)}")
        if not isinstance(able, bool):
            errors.append(f"{where}: answerable must be true/false")
            continue
        if not isinstance(ans, list):
            errors.append(f"{where}: answers must be a list")
            continue
        if not isinstance(art, str) or not art or os.path.basename(art) != art:
            errors.append(f"{where}: article must be a bare file name")
            continue
        if art in newsreal_articles:
            errors.append(f"{where}: article {art} is used by bench/newsreal")
        text = article_text(art)
        if text is None:
            errors.append(f"{where}: article file not found: {os.path.join(art_dir, art)}")
            continue

        # history
        if not isinstance(hist, list) or not 1 <= len(hist) <= 3:
            errors.append(f"{where}: history must be a list of 1-3 turns")
            continue
        if len(hist) != k - 1:
            errors.append(f"{where}: turn t{k} needs {k - 1} history turns, has {len(hist)}")
        for i, h in enumerate(hist, 1):
            hw = f"{where} history[{i}]"
            if not isinstance(h, dict) or set(h) != {"question", "answer"}:
                errors.append(f"{hw}: must be {{\"question\", \"answer\"}}")
                continue
            if not isinstance(h["question"], str) or not h["question"].strip():
                errors.append(f"{hw}: empty question")
            a = h["answer"]
            if not isinstance(a, str):
                errors.append(f"{hw}: answer must be a string")
                continue
            if a == NO_ANSWER:
                continue
            if not a.endswith(CITE):
                errors.append(f"{hw}: answer must end with ' [1]' (or be {NO_ANSWER!r})")
                continue
            quoted = a[: -len(CITE)]
            if not quoted.strip() or quoted != quoted.strip():
                errors.append(f"{hw}: empty quote or surrounding whitespace")
            elif quoted not in text:
                errors.append(f"{hw}: quoted sentence not verbatim in {art}: {quoted[:60]!r}...")
            elif INNER_END.search(quoted.rstrip(".?!'’\"")):
                # the article's own sentences: a quote spanning two of them is an error
                errors.append(f"{hw}: quote looks like more than one sentence: {quoted[:60]!r}...")

        # gold spans
        if not able:
            if ans != []:
                errors.append(f"{where}: unanswerable must have answers []")
        else:
            errors += gold_span_errors(where, ans, text, art)
        if k in convs[nn]:
            errors.append(f"{where}: conversation {nn:02d} already has a turn t{k}")
        convs[nn][k] = o
        if len(errors) == n_err:
            good.append(o)

    # conversation consistency
    for nn, turns in sorted(convs.items()):
        arts = {o["article"] for o in turns.values()}
        if len(arts) != 1:
            errors.append(f"conv-{nn:02d}: lines name {len(arts)} articles {sorted(arts)}")
        for k, o in sorted(turns.items()):
            nxt = turns.get(k + 1)
            if not nxt or not isinstance(o.get("history"), list) or not isinstance(nxt.get("history"), list):
                continue
            h0, h1 = o["history"], nxt["history"]
            if h1[:-1] != h0:
                errors.append(f"conv-{nn:02d}-t{k + 1}: history does not extend conv-{nn:02d}-t{k}'s history")
            last = h1[-1] if h1 else {}
            if last.get("question") != o["question"]:
                errors.append(f"conv-{nn:02d}-t{k + 1}: last history question is not t{k}'s question")
            a = last.get("answer", "")
            if not o["answerable"] and a != NO_ANSWER:
                errors.append(f"conv-{nn:02d}-t{k + 1}: t{k} is unanswerable but its history answer is not {NO_ANSWER!r}")
            if o["answerable"] and o["answers"] and (a == NO_ANSWER or o["answers"][0] not in a):
                errors.append(f"conv-{nn:02d}-t{k + 1}: t{k}'s history answer does not hold its first gold span")

    # the mix
    n = len(good)
    kinds = Counter(o["kind"] for o in good)
    unans = [o for o in good if not o["answerable"]]
    share = {kd: kinds[kd] / n for kd in KINDS} if n else {}
    if n < MIN_LINES:
        errors.append(f"{n} valid lines, need >= {MIN_LINES}")
    if n:
        if share["elliptical"] + share["possessive"] < 0.50:
            errors.append(f"elliptical + possessive {share['elliptical'] + share['possessive']:.0%} < 50%")
        for kd in ("elliptical", "possessive"):
            if share[kd] < 0.15:
                errors.append(f"{kd} {share[kd]:.0%} < 15%")
        for kd, (lo, hi) in SHARE.items():
            if not lo <= share[kd] <= hi:
                errors.append(f"{kd} {share[kd]:.0%} outside {lo:.0%}-{hi:.0%}")
        us = len(unans) / n
        if not UNANS_SHARE[0] <= us <= UNANS_SHARE[1]:
            errors.append(f"unanswerable {us:.0%} outside {UNANS_SHARE[0]:.0%}-{UNANS_SHARE[1]:.0%}")
        if len({o["kind"] for o in unans}) < 4:
            errors.append(f"unanswerable lines span only kinds {sorted({o['kind'] for o in unans})}")

    # info
    if n:
        print(f"info: {n} lines in {len(convs)} conversations over "
              f"{len({o['article'] for o in good})} articles")
        print(f"info: {'kind':<12} {'all':>4} {'share':>6} {'answerable':>11} {'unanswerable':>13}")
        for kd in KINDS:
            a = sum(1 for o in good if o["kind"] == kd and o["answerable"])
            print(f"info: {kd:<12} {kinds[kd]:>4} {share[kd]:>6.0%} {a:>11} {kinds[kd] - a:>13}")
        print(f"info: {'total':<12} {n:>4} {'':>6} {n - len(unans):>11} {len(unans):>13}"
              f"  ({len(unans) / n:.0%} unanswerable)")
        depth = Counter(len(o["history"]) for o in good)
        print("info: history turns: " + ", ".join(f"{d}: {depth[d]}" for d in sorted(depth)))
        per_art = Counter(o["article"] for o in good)
        print("info: per article: " + ", ".join(f"{a} {c}" for a, c in sorted(per_art.items())))
        echoed = sum(1 for o in good if o["answerable"] and o["answers"][0] in o["history"][-1]["answer"])
        print(f"info: {echoed} of {n - len(unans)} answerable follow-ups have their first gold span "
              f"already in the conversation's last answer")
    return verdict(errors)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
