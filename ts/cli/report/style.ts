/**
 * The report's stylesheet: one small sheet, inlined. Laid out for a 1280-pixel-wide window (two charts
 * side by side, full-width forecast and heatmaps) and falls back to one column on narrow screens.
 */
export const REPORT_CSS = `
:root { --fg: #1d2329; --muted: #5f6b76; --line: #e3e7eb; --bg: #f5f7f9; --card: #fff; --accent: #1f77b4; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1220px; margin: 0 auto; padding: 20px 24px 40px; }
header h1 { font-size: 21px; margin: 0 0 4px; }
header .meta { color: var(--muted); font-size: 13px; }
header .meta span + span::before { content: "·"; margin: 0 8px; color: #aab; }
code, pre { font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre.cmd { background: #1d2329; color: #e8edf2; padding: 8px 12px; border-radius: 6px; margin: 12px 0 0;
  white-space: pre-wrap; word-break: break-all; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; margin-top: 16px; }
.grid > .wide { grid-column: 1 / -1; }
@media (max-width: 900px) { .grid { grid-template-columns: 1fr; } }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; min-width: 0; }
section.card h2 { font-size: 15px; margin: 0 0 2px; display: flex; align-items: baseline; gap: 12px; }
section.card h2 label { margin-left: auto; font-size: 12px; font-weight: normal; color: var(--muted); cursor: pointer; }
section.card p.note { color: var(--muted); font-size: 12.5px; margin: 0 0 8px; }
.metrics { display: flex; flex-wrap: wrap; gap: 10px; margin-top: 14px; }
.metric { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 130px; }
.metric .k { color: var(--muted); font-size: 12px; }
.metric .v { font-size: 19px; font-weight: 600; font-variant-numeric: tabular-nums; }
table.kv { border-collapse: collapse; width: 100%; font-size: 13px; }
table.kv td { border-top: 1px solid var(--line); padding: 4px 8px; vertical-align: top; }
table.kv td:first-child { color: var(--muted); white-space: nowrap; width: 1%; }
table.kv td:last-child { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
.kv-cols { columns: 2 340px; column-gap: 24px; }
.kv-cols table { break-inside: avoid; }
.chart { width: 100%; min-height: 40px; }
.warn { color: #b4530a; font-weight: 600; }
pre.sample { background: #fbfbf8; border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px;
  white-space: pre-wrap; word-break: break-word; max-height: 420px; overflow: auto; margin: 0; }
pre.sample .prompt { background: #e3eefb; border-radius: 3px; }
table.scores { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; margin: 8px 0; }
table.scores th, table.scores td { padding: 4px 14px; text-align: right; border-top: 1px solid var(--line); }
table.scores th { font-weight: 500; color: var(--muted); }
table.scores tr > :first-child { text-align: left; color: var(--muted); }
.samples { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; }
@media (max-width: 900px) { .samples { grid-template-columns: 1fr; } }
.sample-head { color: var(--muted); font-size: 12px; margin: 0 0 3px; }
pre.input-text { margin: 2px 0 4px; white-space: pre-wrap; word-break: break-all; font-size: 13px; }
table.char-scores tr:first-child th { border-top: none; }
table.char-scores tr:nth-child(2) { font-weight: 600; }
table.scores .how { text-align: left; color: var(--muted); font-weight: normal; }
table.confusion { border-collapse: collapse; font-size: 12.5px; font-variant-numeric: tabular-nums; }
table.confusion th, table.confusion td { padding: 5px 9px; text-align: center; }
table.confusion th { font-weight: 500; color: var(--muted); }
table.confusion tr > th:first-child { text-align: right; }
table.confusion td { min-width: 46px; border: 1px solid #fff; }
table.confusion .axis { font-size: 11.5px; color: var(--muted); }
.act-block h3 { font-size: 13px; font-weight: 600; margin: 12px 0 2px; }
.act-block h3 .kind { font-weight: normal; color: var(--muted); }
.act-block { overflow-x: auto; }
.act-block canvas { display: block; }
.tip { position: absolute; display: none; pointer-events: none; background: rgba(29,35,41,.92); color: #fff;
  font-size: 12px; padding: 3px 7px; border-radius: 4px; white-space: nowrap; z-index: 10; }
footer { color: var(--muted); font-size: 12px; margin-top: 20px; }
`;
