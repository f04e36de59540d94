"""Probe: a reader trained on passages (bench/train_reader.py --passages) reading the top retrieved passages whole, against
the shipped sentence path, on the same validation questions in one run. usage: passage_probe.py WEIGHTS N_ANSWERABLE OUT.pkl; the analysis below."""
import pickle, sys, time, numpy as np
from pathlib import Path
from rich.progress import track
from assistant.answer import reader as R
from assistant.eval.corpus import default_cache_root, open_eval_index
from assistant.eval.metrics import contains_answer
from assistant.eval.questions import load_questions
from assistant.settings import load_settings
from assistant.text import split_sentences
from tokenizers import Tokenizer
folder = Path('bench/out/squad-val')
a = open_eval_index(folder / 'articles', load_settings(), default_cache_root()).assistant
backend = a.backend()
backend.warm_up()
rd = R.Reader(weights=Path(sys.argv[1]))
tok = Tokenizer.from_file(str(rd.model_dir / 'tokenizer.json')); tok.enable_truncation(256, strategy='only_second'); tok.no_padding()
allq = load_questions(folder / 'questions.jsonl')
qs = [q for q in allq if q.answerable][:int(sys.argv[2])] + [q for q in allq if not q.answerable]
out = []
t_ship = t_pass = 0.0
for q in track(qs, description='reading'):
    ps = a.retrieve(q.question)
    t0 = time.perf_counter()
    cands = backend.rank(q.question, ps)
    t_ship += time.perf_counter() - t0
    ship = None
    if cands:
        b = cands[0]
        ship = {'score': b.score, 'sentence_gold': contains_answer(b.text, q.answers),
                'span_gold': b.span is not None and contains_answer(b.text[b.span[0]:b.span[1]], q.answers)}
    rows = []
    for p in ps[:3]:
        text = p.article_text
        spans = [(s, e) for s, e in split_sentences(text) if not (e <= p.chunk.start or s >= p.chunk.end)]
        if not spans: continue
        lo, hi = spans[0][0], spans[-1][1]
        window = text[lo:hi]
        t0 = time.perf_counter()
        enc = tok.encode(q.question, window)
        feed = {'input_ids': np.array([enc.ids]), 'attention_mask': np.array([enc.attention_mask]), 'token_type_ids': np.array([enc.type_ids])}
        st, en = rd.session.run(None, feed)
        r = R._best_span(st[0], en[0], enc, window)
        t_pass += time.perf_counter() - t0
        if r.span is None: continue
        bb, f = r.span
        sent = next(((s, e) for s, e in spans if s - lo <= bb < e - lo), spans[-1])
        rows.append({'rank': p.rank, 'answerability': r.answerability, 'span_gold': contains_answer(window[bb:f], q.answers),
                     'sentence_gold': contains_answer(text[sent[0]:sent[1]], q.answers), 'tokens': len(enc.ids)})
    out.append({'answerable': q.answerable, 'ship': ship, 'rows': rows})
pickle.dump(out, open(sys.argv[3], 'wb'))
print(f'seconds: shipped rank {t_ship:.1f}, passage reading (3 passages) {t_pass:.1f}')

# --- the figures (python bench/passage_probe.py --analyse OUT.pkl) ---
# import pickle, sys, numpy as np
# out = pickle.load(open(sys.argv[1], 'rb'))
# ans = [o for o in out if o['answerable']]; una = [o for o in out if not o['answerable']]
# def recall_at(scores_a, scores_u, frr=0.05):
#     t = np.quantile(scores_a, frr)  # refuse below t: ~5% of answerables refused
#     return float(np.mean(np.array(scores_u) < t)), t
# def ship_score(o): return o['ship']['score'] if o['ship'] else -1e9
# print('answerable', len(ans), 'unanswerable', len(una))
# print('shipped: sentence %.3f span %.3f' % (np.mean([bool(o['ship'] and o['ship']['sentence_gold']) for o in ans]),
#       np.mean([bool(o['ship'] and o['ship']['span_gold']) for o in ans])), 'refusal recall @5%% FRR %.3f' % recall_at([ship_score(o) for o in ans], [ship_score(o) for o in una])[0])
# for n in (1, 2, 3):
#     for pen in (0, 0.5, 1, 2, 3):
#         def best(o):
#             rows = [r for r in o['rows'] if r['rank'] <= n]
#             return max(rows, key=lambda r: r['answerability'] - pen * (r['rank'] - 1)) if rows else None
#         def sc(o):
#             b = best(o); return b['answerability'] - pen * (b['rank'] - 1) if b else -1e9
#         bs = [best(o) for o in ans]
#         toks = np.mean([sum(r['tokens'] for r in o['rows'] if r['rank'] <= n) for o in ans])
#         print(f'top {n} pen {pen}: sentence {np.mean([bool(b and b["sentence_gold"]) for b in bs]):.3f} span {np.mean([bool(b and b["span_gold"]) for b in bs]):.3f} '
#               f'refusal recall@5% {recall_at([sc(o) for o in ans], [sc(o) for o in una])[0]:.3f} tokens {toks:.0f}')
