"""The migration status page: one HTML document rendered from the shadow report.

Sections: the operations table (active policy per app and operation, comparisons, match
rate, readiness verdict), then, per operation with differences, its top differing fields
with a side-by-side sample (primary | candidate) behind a `<details>` disclosure, expired
ignore rules and proposed ones. Everything is escaped; there is no script.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

import orjson

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.meta{color:#5a6270;margin-bottom:16px}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{border:1px solid #d8dde5;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ready{color:#0a7b3e;font-weight:600}.not-ready{color:#b3261e;font-weight:600}
.undecidable{color:#8a6d00;font-weight:600}
.reasons{margin:2px 0 0 0;padding-left:18px;color:#5a6270;font-size:12px}
details{margin:4px 0}summary{cursor:pointer}
.side{display:grid;grid-template-columns:1fr 1fr;gap:8px;margin-top:6px}
.side pre{background:#f3f5f8;border:1px solid #d8dde5;padding:8px;margin:4px 0 0;
white-space:pre-wrap;word-break:break-all}
.tag{font-size:12px;background:#eef1f5;border-radius:3px;padding:1px 5px}
.noise{color:#8a6d00}
"""


def render_page(report: Mapping[str, Any], policy_hash: str, loaded_at: str) -> str:
    rows = report["operations"]
    body = [
        "<h1>orders-bridge migration status</h1>",
        f'<p class="meta">Generated {escape(report["generated_at"])} · shadow data since '
        f"{escape(report['since'])} · policy {escape(policy_hash)} (loaded {escape(loaded_at)})"
        f" · ready = at least {report['readiness']['min_comparisons']} compared calls "
        f"(matches and mismatches) in {report['readiness']['window_hours']} h matching at "
        f"{report['readiness']['match_rate']:.2%} or more, no unmapped error code; "
        "undecidable = failed shadow calls (errors) could tip it either way</p>",
        _operations_table(rows),
    ]
    body += [_details(row) for row in rows if _has_details(row)]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>orders-bridge · migration status</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>"
    )


def _operations_table(rows: Iterable[Mapping[str, Any]]) -> str:
    head = (
        "<tr><th>App</th><th>Operation</th><th>Target</th><th>Canary</th><th>Shadow</th>"
        "<th>Compared</th><th>Match rate</th><th>Mismatch</th><th>Error</th>"
        "<th>Not comparable</th><th>Verdict</th></tr>"
    )
    body = "".join(_operation(row) for row in rows)
    return f'<table id="operations"><thead>{head}</thead><tbody>{body}</tbody></table>'


def _operation(row: Mapping[str, Any]) -> str:
    policy = row["policy"] or {}
    canary = policy.get("canary")
    shadow = policy.get("shadow")
    rate = row["match_rate"]
    verdict = row["verdict"]
    state = verdict["state"]
    css, word = state.replace("_", "-"), state.replace("_", " ")
    reasons = "".join(f"<li>{escape(reason)}</li>" for reason in verdict["reasons"])
    anchor = _anchor(row)
    name = escape(row["operation"])
    operation = f'<a href="#{anchor}">{name}</a>' if _has_details(row) else name
    return (
        f'<tr data-app="{escape(row["app"])}" data-operation="{name}">'
        f"<td>{escape(row['app'])}</td><td>{operation}</td>"
        f"<td>{escape(str(policy.get('target', '-')))}</td>"
        f"<td>{_canary(canary)}</td><td>{_shadow(shadow)}</td>"
        f'<td class="num">{row["matches"] + row["mismatches"]}</td>'
        f'<td class="num">{f"{rate:.1%}" if rate is not None else "-"}</td>'
        f'<td class="num">{row["mismatches"]}</td><td class="num">{row["errors"]}</td>'
        f'<td class="num">{row["not_comparable"]}</td>'
        f'<td><span class="{css}">{word}</span><ul class="reasons">{reasons}</ul></td></tr>'
    )


def _canary(canary: Mapping[str, Any] | None) -> str:
    if not canary:
        return "-"
    percent = canary.get("percent")
    share = f"{percent:g}%" if percent is not None else "automated (/_bridge/canary/timeline)"
    return f"{escape(str(canary['target']))} {share}"


def _shadow(shadow: Mapping[str, Any] | None) -> str:
    if not shadow:
        return "-"
    safe = ' <span class="tag">side-effect free</span>' if shadow.get("side_effect_free") else ""
    return f"{escape(str(shadow['target']))} at {shadow['sample_rate']:.0%}{safe}"


def _has_details(row: Mapping[str, Any]) -> bool:
    return bool(row["fields"] or row["expired_rules"] or row["proposed_ignores"])


def _anchor(row: Mapping[str, Any]) -> str:
    return escape(f"op-{row['app']}-{row['operation']}")


def _details(row: Mapping[str, Any]) -> str:
    parts = [
        f'<section id="{_anchor(row)}" class="operation">'
        f"<h2>{escape(row['app'])} · {escape(row['operation'])}</h2>"
    ]
    if row["fields"]:
        parts.append("<p>Top differing fields (open one for a side-by-side sample):</p>")
        parts += [_field(item) for item in row["fields"]]
    for rule in row["expired_rules"]:
        parts.append(
            f'<p class="expired">Expired ignore rule <code>{escape(rule["path"])}</code> '
            f"(owner {escape(rule['owner'])}, expired {escape(rule['expires'])}): "
            "its differences are shown again.</p>"
        )
    for proposal in row["proposed_ignores"]:
        parts.append(
            f'<p class="proposal">Proposed ignore rule <code>{escape(proposal["path"])}</code>:'
            f" {escape(proposal['reason'])} (not applied).</p>"
        )
    parts.append("</section>")
    return "".join(parts)


def _field(item: Mapping[str, Any]) -> str:
    sample = item["sample"]
    noise = ' <span class="noise">noise</span>' if item["noise"] else ""
    summary = (
        f'<code>{escape(item["path"])}</code> <span class="tag">{escape(item["kind"])}</span>'
        f" &times; {item['count']} ({item['rate']:.1%}){noise}"
    )
    if sample is None:
        return (
            f'<details class="sample"><summary>{summary}</summary><p>No sample kept.</p></details>'
        )
    return (
        f'<details class="sample"><summary>{summary}</summary><div class="side">'
        f'<div><strong>primary</strong><pre class="primary">{_json(sample["primary"])}</pre></div>'
        f'<div><strong>candidate</strong><pre class="candidate">{_json(sample["candidate"])}</pre>'
        "</div></div></details>"
    )


def _json(value: Any) -> str:
    return escape(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())
