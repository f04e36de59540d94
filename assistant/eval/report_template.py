"""The Jinja template of report.html (kept in a module so it ships with the package)."""

REPORT_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Evaluation: {{ summary.questions_file | basename }}</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
  h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
  table { border-collapse: collapse; margin: .5em 0; }
  td, th { padding: .2em .8em; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
  td.value { text-align: right; font-variant-numeric: tabular-nums; font-weight: 600; }
  .muted { color: #777; } .warn { background: #fff3cd; padding: .5em 1em; border-radius: 4px; }
  figure { margin: 1em 0; } figure img { max-width: 100%; } figcaption { color: #555; font-size: .9em; }
  .columns { display: flex; gap: 3em; flex-wrap: wrap; }
  details { border: 1px solid #ddd; border-radius: 4px; margin: .4em 0; padding: .3em .8em; }
  summary { cursor: pointer; } summary .status { font-size: .85em; color: #a33; margin-left: .5em; }
  blockquote { margin: .4em 0 .4em 1em; padding-left: .8em; border-left: 3px solid #ccc; white-space: pre-wrap; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; } dt { font-weight: 600; }
  .better { color: #1a7f37; } .worse { color: #c0392b; }
  table.overviews td { width: 50%; } table.overviews ul { margin: .2em 0; padding-left: 1.2em; }
</style>
</head>
<body>
<h1>Evaluation report</h1>
<p class="muted">{{ summary.questions_file }} against {{ summary.corpus }} · {{ summary.finished_at }}
  · index {{ "reused from cache" if summary.index_cached else "built this run" }}</p>
{% if n_overviews %}
<p>{{ summary.n_questions }} questions: {{ n_factoid }} factoid ({{ summary.n_answerable }} answerable, {{ summary.n_unanswerable }} unanswerable;
  {{ summary.n_refused }} refused) and {{ n_overviews }} overview requests (summary lines);
  {{ summary.n_errors }} errors, {{ summary.n_notices }} answers with a notice (e.g. an LLM fallback).
  The factoid metrics cover factoid questions only.</p>
{% else %}
<p>{{ summary.n_questions }} questions ({{ summary.n_answerable }} answerable, {{ summary.n_unanswerable }} unanswerable):
  {{ summary.n_refused }} refused, {{ summary.n_errors }} errors, {{ summary.n_notices }} answers with a notice (e.g. an LLM fallback).</p>
{% endif %}
{% if summary.interrupted %}
<p class="warn">Interrupted: {{ summary.n_questions }} of {{ summary.n_questions_planned }} questions ran; the numbers cover those only.</p>
{% endif %}

<div class="columns">
<section>
<h2>Summary</h2>
<table>
{% for name, value, description in metrics %}
  <tr><th>{{ name }}</th><td class="value">{{ value }}</td><td class="muted">{{ description }}</td></tr>
{% endfor %}
</table>
</section>
<section>
<h2>Settings</h2>
<table>
{% for name, value in summary.settings.items() %}
  <tr><th>{{ name }}</th><td>{{ value }}</td></tr>
{% endfor %}
</table>
</section>
</div>

{% if changes %}
<h2>Compared with {{ summary.compared_with }}</h2>
<table>
  <tr><th>metric</th><th>before</th><th>after</th><th>Δ</th><th></th></tr>
{% for c in changes %}
  <tr class="{{ c.verdict }}"><th>{{ c.metric }}</th><td class="value">{{ c.before }}</td><td class="value">{{ c.after }}</td>
    <td class="value">{{ c.delta }}</td><td>{{ c.verdict }}</td></tr>
{% endfor %}
</table>
{% for name, change in summary.settings_changed.items() %}
<p>setting changed: {{ name }}: {{ change.before }} → {{ change.after }}</p>
{% endfor %}
{% endif %}

<h2>Plots</h2>
{% for plot in plots %}
<figure>
  <figcaption><strong>{{ plot.title }}</strong></figcaption>
  <img src="{{ plot.image }}" alt="{{ plot.title }}">
  {% if plot.caption %}<figcaption>{{ plot.caption }}</figcaption>{% endif %}
</figure>
{% endfor %}

<h2>Failures ({{ failures | length }})</h2>
<p class="muted">Answerable questions whose answer holds no gold string (refusals included), unanswerable questions that were answered, and errors.</p>
{% for r in failures %}
<details>
  <summary>{{ r.question }}
    <span class="status">{% if r.error %}error{% elif r.refused %}refused{% elif r.answerable %}wrong answer{% else %}should have refused{% endif %}</span>
  </summary>
  <dl>
    <dt>id</dt><dd>{{ r.id }}</dd>
    <dt>gold</dt><dd>{% if r.gold %}{{ r.gold | join(" | ") }}{% else %}(unanswerable: should refuse){% endif %}</dd>
    <dt>gold article</dt><dd>{{ r.article or "—" }}</dd>
    <dt>answer</dt><dd>{% if r.error %}error: {{ r.error }}{% else %}{{ r.answer }}{% endif %}</dd>
    {% if r.notice %}<dt>notice</dt><dd>{{ r.notice }}</dd>{% endif %}
    <dt>top passage score</dt><dd>{{ "%.3f" | format(r.top_passage_score) if r.top_passage_score is not none else "—" }}</dd>
    <dt>retrieved</dt><dd>{% for p in r.retrieved %}{{ p.rank }}. {{ p.source | basename }} ({{ "%.3f" | format(p.score) }}){% if not loop.last %}; {% endif %}{% else %}none{% endfor %}</dd>
  </dl>
  {% for c in r.citations %}
  <p><strong>[{{ c.n }}] {{ c.title }}</strong> <span class="muted">{{ c.source | basename }}</span></p>
  {% set before, quote, after = c.passage.partition(c.quote) %}
  <blockquote>{% if quote %}{{ before }}<mark>{{ quote }}</mark>{{ after }}{% else %}<mark>{{ c.quote }}</mark>{% endif %}</blockquote>
  {% endfor %}
</details>
{% endfor %}

{% if overview_metrics %}
<h2>Overviews (summary lines)</h2>
<table>
{% for name, value, description in overview_metrics %}
  <tr><th>{{ name }}</th><td class="value">{{ value }}</td><td class="muted">{{ description }}</td></tr>
{% endfor %}
</table>
{% if rouge_plot %}
<figure>
  <figcaption><strong>{{ rouge_plot.title }}</strong></figcaption>
  <img src="{{ rouge_plot.image }}" alt="{{ rouge_plot.title }}">
</figure>
{% endif %}
<h2>Worst overviews ({{ worst_overviews | length }}, lowest ROUGE-1 first)</h2>
<table class="overviews">
  <tr><th>answer</th><th>highlights</th></tr>
{% for r in worst_overviews %}
  <tr>
    <td><p><strong>{{ r.id }}</strong> · {{ r.question }} · <span class="muted">{{ r.scope or r.article or "no article" }}</span><br>
      <span class="muted">ROUGE-1/2/Lsum {{ "%.3f" | format(r.outcome.rouge1) }} / {{ "%.3f" | format(r.outcome.rouge2) }} / {{ "%.3f" | format(r.outcome.rougeLsum) }}
      {%- if r.outcome.words is not none %} · {{ r.outcome.words }} words{% endif %}
      {%- if r.outcome.citations %} · {{ r.outcome.citations_in_article }} of {{ r.outcome.citations }} citations from the article{% endif %}</span></p>
      <p>{% if r.error %}error: {{ r.error }}{% elif r.refused %}<em>refused:</em> {{ r.answer }}{% else %}{{ r.answer }}{% endif %}</p></td>
    <td><ul>{% for h in r.highlights %}<li>{{ h }}</li>{% endfor %}</ul></td>
  </tr>
{% endfor %}
</table>
{% endif %}
</body>
</html>
"""
