// The object sections of a 2016+ Get-ClusterLog file: `[===Resources===]`,
// `[===Groups===]`, `[===Nodes===]` hold one row per object with its name, id,
// group, owner node and state. They are read for what the log lines do not
// always say: which group a resource belongs to, and which node has which id.
//
// Rows are read from any of three layouts, found by the header: a
// comma-separated header and rows; a table with a header row whose columns are
// placed by a dashed underline or else by the header words; or `Key : Value`
// lists with a blank line between objects. Columns are found by name, in any
// order (docs/diagnostics.md).

export type ObjectKind = 'resource' | 'group' | 'node';

export interface ClusterObject {
  kind: ObjectKind;
  name: string;
  id?: string;
  /** For a resource, its group. */
  group?: string;
  /** Owner node (groups, resources), by name. */
  ownerNode?: string;
  state?: string;
  /** For a resource, its type. */
  type?: string;
}

/** Objects kept per file, at most; a section beyond it is read no further. */
export const sectionLimits = { objectsPerFileMax: 100_000 } as const;

const sectionKinds: Record<string, ObjectKind> = { resources: 'resource', groups: 'group', nodes: 'node' };

/** The object kind of a `[===Name===]` section, or undefined for the others (logs, networks, ...). */
export function sectionKind(name: string): ObjectKind | undefined {
  return sectionKinds[name.trim().toLowerCase()];
}

/** `[===Name===]` -> Name; undefined for any other line. */
export function sectionName(line: string): string | undefined {
  const m = /^\s*\[===(.+?)===\]\s*$/.exec(line);
  return m ? m[1]! : undefined;
}

type Field = 'name' | 'id' | 'group' | 'ownerNode' | 'state' | 'type';

const fieldOfColumn: Record<string, Field> = {
  name: 'name',
  id: 'id',
  nodeid: 'id',
  nodenumber: 'id',
  ownergroup: 'group',
  ownergroupname: 'group',
  group: 'group',
  groupname: 'group',
  ownernode: 'ownerNode',
  ownernodename: 'ownerNode',
  state: 'state',
  resourcetype: 'type',
  type: 'type',
};

function fieldOf(column: string): Field | undefined {
  return fieldOfColumn[column.replace(/[\s_]/g, '').toLowerCase()];
}

interface Column {
  field: Field | undefined;
  start: number;
  end: number;
}

/** Reads the rows of one object section, a line at a time. */
export class SectionTable {
  private layout: 'csv' | 'fixed' | 'list' | undefined;
  private header: string | undefined;
  private csvFields: (Field | undefined)[] = [];
  private columns: Column[] = [];
  private current: Partial<Record<Field, string>> = {};

  constructor(
    readonly kind: ObjectKind,
    private readonly emit: (o: ClusterObject) => void,
  ) {}

  feed(line: string): void {
    if (line.trim() === '') {
      if (this.layout === 'list') this.flush();
      return;
    }
    if (this.layout === undefined) {
      this.start(line);
      return;
    }
    if (this.layout === 'fixed' && this.columns.length === 0) {
      // The line under the header: a dashed underline places the columns; else the header's words do.
      if (/^[\s-]+$/.test(line)) {
        this.columns = columnsFrom(line, /-+/g, this.header!);
        return;
      }
      this.columns = columnsFrom(this.header!, /\S+/g, this.header!);
    }
    switch (this.layout) {
      case 'csv':
        this.row(splitCsv(line).map((v, i) => [this.csvFields[i], v] as const));
        break;
      case 'fixed':
        this.row(this.columns.map((c, i) => [c.field, line.slice(c.start, i === this.columns.length - 1 ? undefined : c.end)] as const));
        break;
      case 'list': {
        const m = /^\s*([^:]+?)\s*:\s?(.*)$/.exec(line);
        const field = m ? fieldOf(m[1]!) : undefined;
        if (m && field) this.current[field] = m[2]!.trim();
        break;
      }
    }
  }

  /** Ends the section (a list's last object has no blank line after it). */
  end(): void {
    if (this.layout === 'list') this.flush();
  }

  private start(line: string): void {
    if (/^\s*[^:,]+?\s*:\s/.test(line) && !/,/.test(line.split(':')[0]!)) {
      this.layout = 'list';
      this.feed(line);
      return;
    }
    if (line.includes(',')) {
      this.layout = 'csv';
      this.csvFields = splitCsv(line).map(fieldOf);
      return;
    }
    this.layout = 'fixed';
    this.header = line;
  }

  private row(values: readonly (readonly [Field | undefined, string])[]): void {
    const o: Partial<Record<Field, string>> = {};
    for (const [field, raw] of values) {
      const v = raw.trim();
      if (field !== undefined && v !== '') o[field] = v;
    }
    this.current = o;
    this.flush();
  }

  private flush(): void {
    const c = this.current;
    this.current = {};
    if (c.name === undefined) return;
    const o: ClusterObject = { kind: this.kind, name: c.name };
    if (c.id !== undefined) o.id = c.id;
    if (c.group !== undefined) o.group = c.group;
    if (c.ownerNode !== undefined) o.ownerNode = c.ownerNode;
    if (c.state !== undefined) o.state = c.state;
    if (c.type !== undefined) o.type = c.type;
    this.emit(o);
  }
}

/** Columns from the runs `re` finds in `line`, named by the header text above each. */
function columnsFrom(line: string, re: RegExp, header: string): Column[] {
  const runs = [...line.matchAll(re)].map((m) => m.index);
  return runs.map((start, i) => {
    const end = i + 1 < runs.length ? runs[i + 1]! : Number.MAX_SAFE_INTEGER;
    return { field: fieldOf(header.slice(start, end).trim()), start, end };
  });
}

function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '"') {
      if (quoted && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = !quoted;
    } else if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}
