"""The stylesheet and print script of the HTML report: readable on a screen and a projector, clean on paper."""

from __future__ import annotations

CSS = """
:root { --repo: #2F5BEA; --deployed: #F08C2E; --fail: #C62828; --warn: #B26A00; --pass: #2E7D32;
        --info: #455A64; --muted: #5f6368; --line: #e3e5e8; --bg: #f7f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1f2328; background: var(--bg); }
main { max-width: 1040px; margin: 0 auto; padding: 28px 24px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 12px; }
.meta, .muted { color: var(--muted); font-size: 13px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px;
          margin: 16px 0; }
.banner { border-left: 10px solid var(--info); }
.banner.pass { border-left-color: var(--pass); } .banner.warn { border-left-color: var(--warn); }
.banner.fail { border-left-color: var(--fail); }
.banner .status { font-size: 30px; font-weight: 700; letter-spacing: .04em; }
.banner.pass .status { color: var(--pass); } .banner.warn .status { color: var(--warn); }
.banner.fail .status { color: var(--fail); }
.banner .headline { font-size: 17px; margin: 2px 0 10px; }
.banner .status .badge { font-size: 15px; vertical-align: 6px; min-width: 0; padding: 2px 8px; }
.banner h3 { font-size: 14px; margin: 12px 0 2px; color: var(--muted); text-transform: uppercase;
             letter-spacing: .04em; }
.reasons { margin: 0; padding-left: 0; list-style: none; }
.reasons li { margin: 6px 0; }
details.more summary { margin: 4px 0; }
.note { border-left: 6px solid var(--info); padding: 12px 18px; }
.note.same { border-left-color: var(--pass); } .note.family { border-left-color: var(--warn); }
.badge { display: inline-block; min-width: 62px; text-align: center; border-radius: 4px; padding: 1px 6px;
         font-size: 12px; font-weight: 700; color: #fff; background: var(--info); text-transform: uppercase; }
.badge.pass { background: var(--pass); } .badge.warn { background: var(--warn); }
.badge.fail { background: var(--fail); } .badge.skipped { background: #9aa0a6; }
.cards { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; background: none; border: 0; padding: 0; }
.card { background: #fff; border: 1px solid var(--line); border-top: 6px solid var(--repo); border-radius: 10px;
        padding: 14px 18px; }
.card.deployed { border-top-color: var(--deployed); }
.card h3 { margin: 0 0 8px; font-size: 16px; }
.card dl { display: grid; grid-template-columns: 110px 1fr; gap: 2px 10px; margin: 0; font-size: 14px; }
.card dt { color: var(--muted); } .card dd { margin: 0; overflow-wrap: anywhere; }
.numbers { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px;
           margin-bottom: 12px; }
.number { border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; }
.number .label { color: var(--muted); font-size: 12px; } .number .value { font-size: 20px; font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td code, dd code { font-size: 13px; }
.chart { margin: 8px 0 4px; break-inside: avoid; page-break-inside: avoid; }
ul.facts { margin: 0 0 12px; padding-left: 20px; }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; }
details summary { cursor: pointer; color: var(--muted); }
@media (max-width: 720px) { .cards { grid-template-columns: 1fr; } }
@page { size: A4; margin: 14mm; }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { background: #fff; font-size: 11pt; }
  main { max-width: none; padding: 0; }
  section { border: 0; border-radius: 0; padding: 6px 0; margin: 10px 0; break-inside: avoid-page; }
  section.long { break-inside: auto; }
  .banner { border-left-width: 8px; padding-left: 12px; }
  .cards { break-inside: avoid; }
  .modebar-container, .modebar { display: none !important; }
  details { display: block; } details > summary { display: none; }
  tr { break-inside: avoid; }
}
"""

# Plotly sizes charts to the screen; on paper the page is narrower. Resize before printing, restore after.
PRINT_SCRIPT = """
(function () {
  function plots() { return Array.prototype.slice.call(document.querySelectorAll('.js-plotly-plot')); }
  window.addEventListener('beforeprint', function () {
    document.querySelectorAll('details').forEach(function (d) { d.setAttribute('open', ''); });
    plots().forEach(function (p) { Plotly.relayout(p, {width: 680}); });
  });
  window.addEventListener('afterprint', function () {
    plots().forEach(function (p) { Plotly.relayout(p, {width: null, autosize: true}); });
  });
})();
"""
