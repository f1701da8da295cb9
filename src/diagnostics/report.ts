// Human-readable reports of an analysis and of timelines.

import { unreadable, type Analysis } from './analyze.ts';
import type { FileStats } from './reader.ts';
import type { HeldState, TimelineEntry } from './timeline.ts';
import type { Evidence, Finding } from './types.ts';

// A timeline writes a time per entry, millions for a large log, in runs of the
// same second: the text up to the second is made once per second.
let cachedSecond = NaN;
let cachedSecondText = '';

/** `YYYY-MM-DD HH:MM:SS.mmm` (UTC). */
export function formatTime(timeMs: number | undefined): string {
  if (timeMs === undefined) return '(time unknown)         ';
  const second = Math.floor(timeMs / 1000);
  if (second !== cachedSecond) {
    const iso = new Date(second * 1000).toISOString();
    // Years outside 0000-9999 have a longer form: written whole, not cached.
    if (iso.length !== 24) return new Date(timeMs).toISOString().replace('T', ' ').replace('Z', '');
    cachedSecond = second;
    cachedSecondText = `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
  }
  const ms = timeMs - second * 1000;
  return `${cachedSecondText}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const totalS = Math.floor(ms / 1000);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  return h > 0 ? `${h} h ${m} min${s ? ` ${s} s` : ''}` : `${m} min${s ? ` ${s} s` : ''}`;
}

function fileLine(f: FileStats): string {
  const span = f.firstTimeMs !== undefined ? `, ${formatTime(f.firstTimeMs)} .. ${formatTime(f.lastTimeMs)} UTC` : '';
  const timeless = f.timeless > 0 ? `, ${f.timeless} without time` : '';
  const sections = f.sectionLines > 0 ? `, ${f.sectionLines} in sections` : '';
  const enc = f.encoding === 'utf-8' ? '' : `, ${f.encoding}`;
  const packing = f.packing !== undefined ? `, ${f.packing}` : '';
  const local = f.localTimeOffsetMinutes !== undefined ? `, local time +${f.localTimeOffsetMinutes} min` : '';
  return `  ${f.file} (node ${f.node}): ${f.lines} lines, ${f.parsed} parsed, ${f.unparsed} unparsed${timeless}${sections}${enc}${packing}${local}${span}`;
}

/** Why a file cannot be trusted: how many lines could not be read, and the first of them. */
export function unreadableText(f: FileStats): string {
  const first = f.unparsedSamples[0];
  const bad = first ? ` First unreadable line (${first.lineNo}): ${first.text}` : '';
  const what = f.parsed === 0 ? 'no line of it is a cluster log line' : `${f.unparsed} of ${f.lines} lines could not be read`;
  return `${f.file} (node ${f.node}) is not readable as a cluster log: ${what}.${bad}`;
}

function evidenceLine(e: Evidence): string {
  const note = e.note ? `\n        ^ ${e.note}` : '';
  return `    ${e.node}:${e.lineNo}  ${e.line}${note}`;
}

function findingText(f: Finding, index: number): string {
  const out: string[] = [];
  out.push(`${index}. [${f.severity.toUpperCase()}] ${f.ruleId}: ${f.title}`);
  out.push(`   ${f.summary}`);
  const who: string[] = [];
  if (f.resource !== undefined) who.push(`resource: ${f.resource}`);
  if (f.group !== undefined) who.push(`group: ${f.group}`);
  if (f.nodes.length > 0) who.push(`nodes: ${f.nodes.join(', ')}`);
  if (f.began) who.push(`began: ${f.began.timeMs !== undefined ? `${formatTime(f.began.timeMs)} UTC` : `line ${f.began.lineNo} of ${f.began.node} (time unknown)`}`);
  out.push(`   ${who.join('; ')}`);
  out.push('   Why:');
  out.push(`     ${f.explanation}`);
  out.push('   Evidence:');
  for (const e of f.evidence) out.push(evidenceLine(e));
  out.push('   What to do:');
  f.remedies.forEach((r, i) => out.push(`     ${i + 1}. ${r}`));
  return out.join('\n');
}

export function formatDiagnosis(a: Analysis): string {
  const out: string[] = [];
  out.push(`Read ${a.files.length} cluster log file(s):`);
  for (const f of a.files) out.push(fileLine(f));
  const samples = a.files.flatMap((f) => f.unparsedSamples.slice(0, 2).map((s) => `    ${f.node}:${s.lineNo}  ${s.text}`));
  if (a.totals.unparsed > 0) out.push(`  ${a.totals.unparsed} line(s) are not cluster log lines and were skipped, e.g.:`, ...samples);
  out.push('');
  const bad = a.files.filter(unreadable);
  for (const f of bad) out.push(`UNREADABLE: ${unreadableText(f)}`);
  if (bad.length > 0) out.push('');
  if (a.findings.length === 0) {
    out.push(bad.length > 0 ? 'No diagnosis: the log could not be read (see above); nothing was checked in the unreadable file(s).' : 'No known issue found.');
  } else {
    out.push(`${a.findings.length} known issue(s) found:`);
    out.push('');
    a.findings.forEach((f, i) => out.push(findingText(f, i + 1), ''));
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function objectName(o: TimelineEntry['object']): string {
  if (o.kind === 'cluster') return 'cluster';
  return o.kind === 'resource' && o.group !== undefined ? `resource ${o.name} (group ${o.group})` : `${o.kind} ${o.name}`;
}

/** One timeline entry as a line: when, on which node, about what, what happened, and how long the state it ends had lasted. */
export function formatTimelineEntry(e: TimelineEntry): string {
  const lasted = e.fromLastedMs !== undefined ? `  [${e.from} for ${formatDuration(e.fromLastedMs)}]` : '';
  return `${formatTime(e.at.timeMs)}  ${e.at.node.padEnd(10)} ${e.kind.padEnd(7)} ${objectName(e.object)}: ${e.text}${lasted}\n`;
}

/** The states held at the end of the log, with how long they had lasted. */
export function formatHeld(held: readonly HeldState[]): string {
  if (held.length === 0) return '';
  const out = ['', 'Held at the end of the log:'];
  for (const h of held) {
    const lasted = h.durationMs !== undefined ? ` for ${formatDuration(h.durationMs)}` : '';
    out.push(`  ${h.node.padEnd(10)} ${objectName(h.object)}: ${h.state}${lasted} (since ${formatTime(h.since.timeMs)} UTC)`);
  }
  return `${out.join('\n')}\n`;
}
