// The HTML report of `failover log diagnose --html FILE`: for people who would
// rather look than read. One self-contained page (inline CSS and SVG, no
// script, nothing fetched): the files read, the findings with their evidence
// lines and remedies, and per group a timeline with each resource's states
// drawn as bars, one row per resource and node, and the group's moves marked.

import type { Analysis } from './analyze.ts';
import { formatDuration, formatTime } from './report.ts';
import type { TimelineEntry } from './timeline.ts';

export const htmlLimits = {
  /** State intervals kept per resource and node; earlier ones are dropped (and counted). */
  intervalsPerRowMax: 2_000,
  /** Move and error marks kept per group. */
  marksPerGroupMax: 500,
  /** Rows (resource and node) drawn per group. */
  rowsPerGroupMax: 60,
  /** Groups drawn. */
  groupsMax: 100,
} as const;

interface Interval {
  state: string;
  fromMs: number;
  toMs?: number;
}

interface Row {
  resource: string;
  node: string;
  intervals: Interval[];
  dropped: number;
}

interface Mark {
  atMs: number;
  node: string;
  text: string;
  kind: TimelineEntry['kind'];
}

interface GroupView {
  rows: Map<string, Row>;
  marks: Mark[];
}

/** Collects what the report draws from the timeline entries, in bounded memory. */
export class HtmlTimeline {
  private readonly groups = new Map<string, GroupView>();

  add(e: TimelineEntry): void {
    const t = e.at.timeMs;
    if (t === undefined || e.object.kind === 'cluster') return;
    const group = e.object.kind === 'group' ? e.object.name : e.object.group;
    if (group === undefined) return;
    let g = this.groups.get(group);
    if (!g) {
      if (this.groups.size >= htmlLimits.groupsMax) return;
      this.groups.set(group, (g = { rows: new Map(), marks: [] }));
    }
    if (e.object.kind === 'resource' && e.kind === 'state' && e.to !== undefined) {
      const key = `${e.object.name}\u0000${e.at.node}`;
      let row = g.rows.get(key);
      if (!row) {
        if (g.rows.size >= htmlLimits.rowsPerGroupMax) return;
        g.rows.set(key, (row = { resource: e.object.name, node: e.at.node, intervals: [], dropped: 0 }));
      }
      const last = row.intervals[row.intervals.length - 1];
      if (last && last.toMs === undefined) last.toMs = t;
      row.intervals.push({ state: e.to, fromMs: t });
      if (row.intervals.length > htmlLimits.intervalsPerRowMax) {
        row.intervals.shift();
        row.dropped++;
      }
    } else if (e.kind === 'move' || e.kind === 'error' || e.kind === 'restart' || (e.kind === 'retry' && e.object.kind === 'group')) {
      if (g.marks.length < htmlLimits.marksPerGroupMax) g.marks.push({ atMs: t, node: e.at.node, text: `${e.object.kind === 'resource' ? `${e.object.name}: ` : ''}${e.text}`, kind: e.kind });
    }
  }

  views(): ReadonlyMap<string, GroupView> {
    return this.groups;
  }
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function stateColor(state: string): string {
  if (state === 'Online') return '#3a9a4a';
  if (state === 'Offline') return '#b8bcc2';
  if (state === 'Failed' || state === 'OpenCallFailed') return '#d0392b';
  if (/Pending|CallIssued|Waiting|Initializing|Terminating|ProcessingFailure/.test(state)) return '#e6a700';
  return '#4a7fc1';
}

const legend = ['Online', 'Offline', 'OnlinePending', 'OpenCallFailed', 'Other'];
const chartWidth = 1000;
const labelWidth = 330;
const rowHeight = 18;

function groupSvg(name: string, g: GroupView, startMs: number, endMs: number): string {
  const span = Math.max(1, endMs - startMs);
  const x = (t: number): number => labelWidth + ((t - startMs) / span) * (chartWidth - labelWidth - 10);
  const rows = [...g.rows.values()];
  const height = (rows.length + 1) * rowHeight + 24;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${chartWidth}" height="${height}" role="img" aria-label="timeline of group ${esc(name)}">`];
  rows.forEach((row, i) => {
    const y = i * rowHeight + 4;
    out.push(`<text x="4" y="${y + 12}" class="label">${esc(row.resource)} @ ${esc(row.node)}${row.dropped ? ` (+${row.dropped} earlier)` : ''}</text>`);
    for (const iv of row.intervals) {
      const x0 = x(iv.fromMs);
      const x1 = x(iv.toMs ?? endMs);
      const lasted = formatDuration((iv.toMs ?? endMs) - iv.fromMs);
      out.push(
        `<rect x="${x0.toFixed(1)}" y="${y}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${rowHeight - 4}" fill="${stateColor(iv.state)}"><title>${esc(row.resource)} on ${esc(row.node)}: ${esc(iv.state)} for ${lasted} from ${formatTime(iv.fromMs)} UTC</title></rect>`,
      );
    }
  });
  const markY = rows.length * rowHeight + 4;
  out.push(`<text x="4" y="${markY + 12}" class="label">moves, errors, retries</text>`);
  for (const m of g.marks) {
    const mx = x(m.atMs).toFixed(1);
    const color = m.kind === 'move' ? '#333' : m.kind === 'error' ? '#d0392b' : '#e6a700';
    out.push(`<line x1="${mx}" x2="${mx}" y1="${markY}" y2="${markY + rowHeight - 4}" stroke="${color}" stroke-width="2"><title>${formatTime(m.atMs)} ${esc(m.node)}: ${esc(m.text)}</title></line>`);
  }
  const axisY = markY + rowHeight + 14;
  out.push(`<text x="${labelWidth}" y="${axisY}" class="axis">${formatTime(startMs)}</text>`);
  out.push(`<text x="${chartWidth - 10}" y="${axisY}" class="axis" text-anchor="end">${formatTime(endMs)} UTC</text>`);
  out.push('</svg>');
  return out.join('\n');
}

const style = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
.finding { border-left: 4px solid #d0392b; padding: 0.3em 1em; margin: 1em 0; background: #fbf3f2; }
.finding.warning { border-color: #e6a700; background: #fdf8ea; }
pre { background: #f4f4f4; padding: 0.5em; overflow-x: auto; font-size: 12px; }
.note { color: #666; font-style: italic; }
table { border-collapse: collapse; } td, th { padding: 0.2em 0.6em; border-bottom: 1px solid #ddd; text-align: left; }
svg .label { font-size: 11px; } svg .axis { font-size: 11px; fill: #555; }
.legend span { display: inline-block; width: 1em; height: 1em; vertical-align: middle; margin: 0 0.3em 0 1em; }
.unreadable { color: #d0392b; font-weight: bold; }
`;

/** The whole report as one HTML page. */
export function renderHtml(a: Analysis, timeline: HtmlTimeline, unreadableNotes: readonly string[]): string {
  const out: string[] = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">', '<title>Cluster log diagnosis</title>', `<style>${style}</style></head><body>`];
  out.push('<h1>Cluster log diagnosis</h1>');
  out.push('<table><tr><th>file</th><th>node</th><th>lines</th><th>parsed</th><th>unparsed</th><th>from</th><th>to (UTC)</th></tr>');
  for (const f of a.files) {
    out.push(`<tr><td>${esc(f.file)}</td><td>${esc(f.node)}</td><td>${f.lines}</td><td>${f.parsed}</td><td>${f.unparsed}</td><td>${formatTime(f.firstTimeMs)}</td><td>${formatTime(f.lastTimeMs)}</td></tr>`);
  }
  out.push('</table>');
  for (const n of unreadableNotes) out.push(`<p class="unreadable">${esc(n)}</p>`);
  out.push(`<h2>Findings (${a.findings.length})</h2>`);
  if (a.findings.length === 0) out.push(unreadableNotes.length > 0 ? '<p>No diagnosis: a file could not be read.</p>' : '<p>No known issue found.</p>');
  for (const f of a.findings) {
    out.push(`<div class="finding ${f.severity}"><h3>${esc(f.ruleId)}: ${esc(f.title)}</h3>`);
    out.push(`<p>${esc(f.summary)}</p><p class="note">${esc(f.explanation)}</p>`);
    out.push('<h4>Evidence</h4><pre>');
    for (const e of f.evidence) out.push(`${esc(`${e.node}:${e.lineNo}  ${e.line}`)}${e.note ? `\n    <span class="note">^ ${esc(e.note)}</span>` : ''}`);
    out.push('</pre><h4>What to do</h4><ol>');
    for (const r of f.remedies) out.push(`<li>${esc(r)}</li>`);
    out.push('</ol></div>');
  }
  const views = timeline.views();
  out.push(`<h2>Timeline per group (${views.size})</h2>`);
  out.push(`<p class="legend">${legend.map((s) => `<span style="background:${stateColor(s)}"></span>${s}`).join('')}</p>`);
  const startMs = a.firstTimeMs ?? 0;
  const endMs = a.lastTimeMs ?? startMs;
  for (const [name, g] of views) {
    out.push(`<h3>Group ${esc(name)}</h3>`);
    out.push(groupSvg(name, g, startMs, endMs));
  }
  out.push('</body></html>');
  return `${out.join('\n')}\n`;
}
