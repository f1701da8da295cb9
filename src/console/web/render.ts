/// <reference lib="dom" />
// The page's tables, built from the model and updated in place: a row is
// created once per node, group or resource and then only its texts change, so
// a chosen move target, keyboard focus and the scroll position survive the
// live updates. Names are always set as text, never as markup.
import type { GroupView, NodeView, ResourceView } from '../../api/types.ts';
import type { ClusterModel } from './model.ts';
import { describeMoveOutcome, describeMoveProgress, formatError, type ActivityState } from './format.ts';
import { consoleLimits } from './limits.ts';

export interface ConsoleActions {
  moveGroup(group: string, to: string | undefined): void;
  groupAction(group: string, verb: 'online' | 'offline'): void;
  resourceAction(resource: string, verb: 'online' | 'offline' | 'reset'): void;
  pauseNode(node: string, drain: boolean): void;
  resumeNode(node: string): void;
}

export interface ActivityEntry {
  update(state: ActivityState, text: string): void;
}

const NONE = '—';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Only touches the DOM when the text changes (the page re-renders every second). */
function setText(e: Element, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}

function setState(cell: HTMLElement, state: string): void {
  setText(cell, state);
  if (cell.dataset['state'] !== state) cell.dataset['state'] = state;
}

function button(text: string, label: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', { type: 'button', 'aria-label': label }, text);
  b.addEventListener('click', onClick);
  return b;
}

function cell(field: string, text = ''): HTMLTableCellElement {
  return el('td', { 'data-field': field }, text);
}

function rowHeader(text: string): HTMLTableCellElement {
  return el('th', { scope: 'row', 'data-field': 'name' }, text);
}

let nextId = 0;
const freshId = (prefix: string): string => `${prefix}-${++nextId}`;

/** Keeps one row per key in the body, in the given order, creating and removing rows as needed. */
function syncRows<T>(body: HTMLElement, rows: Map<string, HTMLTableRowElement>, items: readonly T[], key: (t: T) => string, create: (t: T) => HTMLTableRowElement, update: (row: HTMLTableRowElement, t: T) => void): void {
  const keep = new Set(items.map(key));
  for (const [k, row] of rows) {
    if (!keep.has(k)) {
      row.remove();
      rows.delete(k);
    }
  }
  items.forEach((item, i) => {
    const k = key(item);
    let row = rows.get(k);
    if (!row) {
      row = create(item);
      rows.set(k, row);
    }
    update(row, item);
    // Move only rows that are out of place: moving a row would take focus from its buttons.
    if (body.children[i] !== row) body.insertBefore(row, body.children[i] ?? null);
  });
}

interface GroupRow {
  readonly row: HTMLTableRowElement;
  readonly target: HTMLSelectElement;
}

interface ResourceSection {
  readonly section: HTMLElement;
  readonly caption: HTMLElement;
  readonly body: HTMLElement;
  readonly rows: Map<string, HTMLTableRowElement>;
}

export class ConsoleView {
  private readOnly = true;
  private readonly nodeRows = new Map<string, HTMLTableRowElement>();
  private readonly groupRows = new Map<string, HTMLTableRowElement>();
  private readonly groupTargets = new Map<string, HTMLSelectElement>();
  private readonly resourceSections = new Map<string, ResourceSection>();

  constructor(private readonly actions: ConsoleActions) {}

  private byId<T extends HTMLElement>(id: string): T {
    const e = document.getElementById(id);
    if (!e) throw new Error(`assertion failed: the page has #${id}`);
    return e as T;
  }

  /** The sign-in form, with what went wrong (no token, or a refused one). */
  showSignIn(problem: string): void {
    this.byId('cluster').hidden = true;
    this.byId('forget-token').hidden = true;
    setText(this.byId('access'), '');
    this.byId('signin').hidden = false;
    setText(this.byId('signin-problem'), problem);
    this.setConnection('signed-out', 'Not connected');
    this.byId<HTMLInputElement>('token-input').focus();
  }

  showCluster(access: 'full' | 'read'): void {
    this.readOnly = access === 'read';
    this.byId('signin').hidden = true;
    this.byId('cluster').hidden = false;
    this.byId('forget-token').hidden = false;
    this.byId('read-only-notice').hidden = !this.readOnly;
    setText(this.byId('access'), this.readOnly ? 'Read-only token' : 'Full access');
    this.byId('access').dataset['access'] = access;
  }

  setConnection(kind: string, text: string): void {
    const p = this.byId('connection');
    setText(p, text);
    p.dataset['kind'] = kind;
  }

  onTokenSubmit(handler: (token: string) => void): void {
    this.byId<HTMLFormElement>('token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const input = this.byId<HTMLInputElement>('token-input');
      const token = input.value.trim();
      input.value = '';
      if (token !== '') handler(token);
    });
  }

  onForgetToken(handler: () => void): void {
    this.byId('forget-token').addEventListener('click', handler);
  }

  render(model: ClusterModel, nowMs: number): void {
    setText(this.byId('cluster-name'), model.cluster ? `— cluster ${model.cluster.name}` : '');
    const nodes = model.sortedNodes();
    const groups = model.sortedGroups();
    syncRows(this.byId('nodes').querySelector('tbody')!, this.nodeRows, nodes, (n) => n.name, (n) => this.createNodeRow(n), (row, n) => this.updateNodeRow(row, n));
    syncRows(
      this.byId('groups').querySelector('tbody')!,
      this.groupRows,
      groups,
      (g) => g.name,
      (g) => this.createGroupRow(g).row,
      (row, g) => this.updateGroupRow(row, g, nodes, nowMs),
    );
    for (const name of this.groupTargets.keys()) if (!this.groupRows.has(name)) this.groupTargets.delete(name);
    this.byId('no-groups').hidden = groups.length > 0;
    this.byId('groups').hidden = groups.length === 0;
    this.renderResources(model, groups);
  }

  // ---- nodes

  private createNodeRow(n: NodeView): HTMLTableRowElement {
    const row = el('tr', { 'data-node': n.name });
    const actions = el('td', { 'data-field': 'actions', class: 'actions' });
    actions.append(
      button('Pause', `Pause node ${n.name}`, () => this.actions.pauseNode(n.name, false)),
      button('Drain', `Drain node ${n.name}`, () => this.actions.pauseNode(n.name, true)),
      button('Resume', `Resume node ${n.name}`, () => this.actions.resumeNode(n.name)),
    );
    row.append(rowHeader(n.name), cell('id'), cell('state'), cell('draining'), actions);
    return row;
  }

  private updateNodeRow(row: HTMLTableRowElement, n: NodeView): void {
    const [, id, state, draining, actions] = row.children;
    setText(id!, String(n.id));
    setState(state as HTMLElement, n.state);
    setText(draining!, n.draining ? 'draining' : n.state === 'Paused' ? 'paused' : NONE);
    const [pause, drain, resume] = actions!.children as unknown as HTMLButtonElement[];
    pause!.disabled = this.readOnly || n.state !== 'Up';
    drain!.disabled = this.readOnly || n.state !== 'Up';
    resume!.disabled = this.readOnly || n.state !== 'Paused';
  }

  // ---- groups

  private createGroupRow(g: GroupView): GroupRow {
    const row = el('tr', { 'data-group': g.name });
    const actions = el('td', { 'data-field': 'actions', class: 'actions' });
    const id = freshId('move-target');
    const label = el('label', { for: id, class: 'visually-hidden' }, `Move group ${g.name} to`);
    const target = el('select', { id, 'data-field': 'target' });
    actions.append(
      label,
      target,
      button('Move', `Move group ${g.name}`, () => this.actions.moveGroup(g.name, target.value === '' ? undefined : target.value)),
      button('Online', `Online group ${g.name}`, () => this.actions.groupAction(g.name, 'online')),
      button('Offline', `Offline group ${g.name}`, () => this.actions.groupAction(g.name, 'offline')),
    );
    row.append(rowHeader(g.name), cell('state'), cell('owner'), cell('move'), cell('last-move'), actions);
    this.groupTargets.set(g.name, target);
    return { row, target };
  }

  private updateGroupRow(row: HTMLTableRowElement, g: GroupView, nodes: readonly NodeView[], nowMs: number): void {
    const [, state, owner, move, lastMove, actions] = row.children;
    setState(state as HTMLElement, g.state);
    setText(owner!, g.owner ?? NONE);
    const m = g.move;
    setText(move!, g.moving && m ? describeMoveProgress(m, nowMs) : NONE);
    const ended = m && m.phase === 'ended' ? m : undefined;
    setText(lastMove!, ended ? describeMoveOutcome(ended) : NONE);
    (lastMove as HTMLElement).dataset['outcome'] = ended?.outcome ?? '';
    const target = this.groupTargets.get(g.name)!;
    this.updateTargets(target, nodes.filter((n) => n.name !== g.owner).map((n) => n.name));
    for (const control of [target, ...(actions!.querySelectorAll('button') as unknown as HTMLButtonElement[])]) control.disabled = this.readOnly;
  }

  /** The target list: the best node (placement picks), then every other node; the choice is kept while it exists. */
  private updateTargets(select: HTMLSelectElement, names: readonly string[]): void {
    const wanted = ['', ...names];
    const have = [...select.options].map((o) => o.value);
    if (have.length === wanted.length && have.every((v, i) => v === wanted[i])) return;
    const chosen = select.value;
    select.replaceChildren(...wanted.map((v) => el('option', { value: v }, v === '' ? 'best node' : v)));
    select.value = wanted.includes(chosen) ? chosen : '';
  }

  // ---- resources, one table per group

  private renderResources(model: ClusterModel, groups: readonly GroupView[]): void {
    const container = this.byId('resources');
    const keep = new Set(groups.map((g) => g.name));
    for (const [name, s] of this.resourceSections) {
      if (!keep.has(name)) {
        s.section.remove();
        this.resourceSections.delete(name);
      }
    }
    groups.forEach((g, i) => {
      let s = this.resourceSections.get(g.name);
      if (!s) {
        s = this.createResourceSection(g);
        this.resourceSections.set(g.name, s);
      }
      if (container.children[i] !== s.section) container.insertBefore(s.section, container.children[i] ?? null);
      setText(s.caption, `Resources of group ${g.name}${g.owner ? ` (on ${g.owner})` : ''}`);
      syncRows(s.body, s.rows, model.resourcesOf(g.name), (r) => r.name, (r) => this.createResourceRow(r), (row, r) => this.updateResourceRow(row, r));
    });
  }

  private createResourceSection(g: GroupView): ResourceSection {
    const section = el('section', { 'data-group': g.name, class: 'resources' });
    const table = el('table', { class: 'grid' });
    const caption = el('caption');
    const head = el('thead');
    const tr = el('tr');
    for (const h of ['Resource', 'Type', 'State', 'Owner', 'Depends on', 'Last error', 'Actions']) tr.append(el('th', { scope: 'col' }, h));
    head.append(tr);
    const body = el('tbody');
    table.append(caption, head, body);
    section.append(table);
    return { section, caption, body, rows: new Map() };
  }

  private createResourceRow(r: ResourceView): HTMLTableRowElement {
    const row = el('tr', { 'data-resource': r.name });
    const actions = el('td', { 'data-field': 'actions', class: 'actions' });
    actions.append(
      button('Online', `Online resource ${r.name}`, () => this.actions.resourceAction(r.name, 'online')),
      button('Offline', `Offline resource ${r.name}`, () => this.actions.resourceAction(r.name, 'offline')),
      button('Reset', `Reset resource ${r.name}`, () => this.actions.resourceAction(r.name, 'reset')),
    );
    row.append(rowHeader(r.name), cell('type'), cell('state'), cell('owner'), cell('dependencies'), cell('last-error'), actions);
    return row;
  }

  private updateResourceRow(row: HTMLTableRowElement, r: ResourceView): void {
    const [, type, state, owner, dependencies, lastError, actions] = row.children;
    setText(type!, r.type);
    setState(state as HTMLElement, r.state);
    setText(owner!, r.owner ?? NONE);
    setText(dependencies!, r.dependencies === '' ? NONE : r.dependencies);
    setText(lastError!, r.lastError ? formatError(r.lastError) : NONE);
    (lastError as HTMLElement).dataset['error'] = r.lastError ? 'yes' : 'no';
    for (const b of actions!.querySelectorAll('button')) b.disabled = this.readOnly;
  }

  // ---- activity

  /** Adds an entry for an action just taken; the newest is on top, old ones fall off. */
  startActivity(title: string, nowMs: number): ActivityEntry {
    const list = this.byId('activity');
    this.byId('no-activity').hidden = true;
    const li = el('li', { 'data-state': 'running' });
    const at = new Date(nowMs);
    const time = el('time', { datetime: at.toISOString() }, at.toLocaleTimeString());
    const what = el('span', { class: 'activity-title' }, title);
    const text = el('span', { class: 'activity-text', 'data-field': 'outcome' }, 'starting');
    li.append(time, ' ', what, ': ', text);
    list.prepend(li);
    while (list.children.length > consoleLimits.activityEntriesMax) list.lastElementChild?.remove();
    return {
      update(state, message) {
        li.dataset['state'] = state;
        setText(text, message);
      },
    };
  }
}
