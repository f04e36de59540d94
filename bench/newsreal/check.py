#!/usr/bin/env python3
"""Validate questions.jsonl (CNN/Daily Mail QA eval set). Standard library only.

Usage: python3 check.py [questions.jsonl] [--articles DIR]

Hard checks (any failure -> exit 1):
  * every line is a JSON object with exactly the keys
    id, question, answers, article, answerable
  * ids unique, pattern cnn-NN-qMM, NN 01..12, MM 01..10
  * MM 01..07 answerable (true), MM 08..10 unanswerable (false)
  * 12 articles x (7 answerable + 3 unanswerable) = 120 lines
  * answerable: article is an existing file in the articles folder, the same
    file for all 7 answerable questions of an NN, 12 distinct files;
    1-3 distinct gold spans, each 1-8 words, each occurring VERBATIM
    (case-sensitive) in that file, not starting/ending inside a word
  * unanswerable: answers == [] and article is null
  * questions non-empty, end with '?', no duplicate question text

Soft checks (printed as WARN, do not fail):
  * lexical overlap: longest run of words shared by a question and the
    sentence holding its first gold span (>= 6 words suggests copying)
"""
import os
import re
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the shared set_check
from set_check import arguments, article_reader, gold_span_errors, json_rows, verdict  # noqa: E402

DEFAULT_ARTICLES = str(Path(__file__).resolve().parents[3] / "shared" / "evaldata" / "cnn-summary-dev" / "articles")
ID_RE = re.compile(r"^cnn-(\d{2})-q(\d{2})$")
KEYS = {"id", "question", "answers", "article", "answerable"}
N_ARTICLES, N_ANS, N_UNANS = 12, 7, 3


def norm_tokens(s):
    return re.findall(r"[a-z0-9]+", s.lower())


def longest_common_run(a, b):
    best = 0
    prev = [0] * (len(b) + 1)
    for i in range(1, len(a) + 1):
        cur = [0] * (len(b) + 1)
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def sentence_around(text, start, end):
    # crude sentence window: from previous '. ' to next '. '
    left = max(text.rfind(". ", 0, start), text.rfind("? ", 0, start), text.rfind("! ", 0, start))
    right_candidates = [i for i in (text.find(". ", end), text.find("? ", end), text.find("! ", end)) if i != -1]
    right = min(right_candidates) if right_candidates else len(text)
    return text[left + 1 if left != -1 else 0:right + 1]


def main(argv):
    path, art_dir = arguments(argv, os.path.join(os.path.dirname(os.path.abspath(__file__)), "questions.jsonl"),
                              DEFAULT_ARTICLES)
    errors, warns = [], []
    article_text = article_reader(art_dir)

    rows = json_rows(path, KEYS, errors)

    seen_ids, seen_q = set(), {}
    per_nn = defaultdict(lambda: {"ans": 0, "unans": 0, "articles": set()})
    overlap_stats = []

    for ln, o in rows:
        qid, q, ans, art, able = o["id"], o["question"], o["answers"], o["article"], o["answerable"]
        where = f"line {ln} ({qid})"
        if not isinstance(qid, str) or not ID_RE.match(qid):
            errors.append(f"{where}: bad id")
            continue
        if qid in seen_ids:
            errors.append(f"{where}: duplicate id")
        seen_ids.add(qid)
        nn, mm = map(int, ID_RE.match(qid).groups())
        if not 1 <= nn <= N_ARTICLES:
            errors.append(f"{where}: NN out of range 01..{N_ARTICLES:02d}")
        if not 1 <= mm <= N_ANS + N_UNANS:
            errors.append(f"{where}: MM out of range 01..{N_ANS + N_UNANS:02d}")
        if not isinstance(q, str) or not q.strip():
            errors.append(f"{where}: empty question")
            continue
        if not q.rstrip().endswith("?"):
            errors.append(f"{where}: question does not end with '?'")
        if q.strip().lower() in seen_q:
            errors.append(f"{where}: duplicate question text (also {seen_q[q.strip().lower()]})")
        seen_q[q.strip().lower()] = qid
        if not isinstance(able, bool):
            errors.append(f"{where}: answerable must be true/false")
            continue
        if able != (mm <= N_ANS):
            errors.append(f"{where}: answerable={able} but MM={mm:02d} (01..07 answerable, 08..10 not)")
        if not isinstance(ans, list):
            errors.append(f"{where}: answers must be a list")
            continue

        if not able:
            per_nn[nn]["unans"] += 1
            if ans != []:
                errors.append(f"{where}: unanswerable must have answers []")
            if art is not None:
                errors.append(f"{where}: unanswerable must have article null")
            continue

        per_nn[nn]["ans"] += 1
        if not isinstance(art, str) or not art:
            errors.append(f"{where}: answerable needs an article file name")
            continue
        if os.path.basename(art) != art:
            errors.append(f"{where}: article must be a bare file name")
        per_nn[nn]["articles"].add(art)
        text = article_text(art)
        if text is None:
            errors.append(f"{where}: article file not found: {os.path.join(art_dir, art)}")
            continue
        errors += gold_span_errors(where, ans, text, art)
        # soft check: copying of the answer sentence
        if ans and isinstance(ans[0], str) and ans[0] in text:
            i = text.find(ans[0])
            sent = sentence_around(text, i, i + len(ans[0]))
            run = longest_common_run(norm_tokens(q), norm_tokens(sent))
            overlap_stats.append(run)
            if run >= 6:
                warns.append(f"{qid}: question shares a {run}-word run with its answer sentence")

    # structure per article number
    if len(per_nn) != N_ARTICLES or sorted(per_nn) != list(range(1, N_ARTICLES + 1)):
        errors.append(f"article numbers present: {sorted(per_nn)}; expected 1..{N_ARTICLES}")
    all_articles = []
    for nn in sorted(per_nn):
        d = per_nn[nn]
        if d["ans"] != N_ANS or d["unans"] != N_UNANS:
            errors.append(f"cnn-{nn:02d}: {d['ans']} answerable + {d['unans']} unanswerable (need {N_ANS}+{N_UNANS})")
        if len(d["articles"]) != 1:
            errors.append(f"cnn-{nn:02d}: answerable questions point to {len(d['articles'])} files {sorted(d['articles'])}")
        all_articles.extend(d["articles"])
    if len(set(all_articles)) != len(all_articles):
        errors.append("the same article file is used for more than one NN")
    expected = N_ARTICLES * (N_ANS + N_UNANS)
    want_ids = {f"cnn-{n:02d}-q{m:02d}" for n in range(1, N_ARTICLES + 1)
                for m in range(1, N_ANS + N_UNANS + 1)}
    missing = sorted(want_ids - seen_ids)
    if missing:
        errors.append(f"missing ids: {', '.join(missing)}")
    if len(rows) != expected:
        errors.append(f"{len(rows)} valid lines, expected {expected}")

    for w in warns:
        print("WARN", w)
    if overlap_stats:
        print(f"info: {len(rows)} lines, {len(set(all_articles))} articles; "
              f"longest shared word run question/answer-sentence: "
              f"mean {sum(overlap_stats) / len(overlap_stats):.1f}, max {max(overlap_stats)}")
    return verdict(errors)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
