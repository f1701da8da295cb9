// Dependency expressions: "[A] and [B]", "[IP1] or [IP2]", with parentheses,
// as WSFC's resource dependency expressions. Parser, printer and validation.
import { clusterError, type ClusterErrorValue } from './errors.ts';

export type DependencyExpr =
  | { readonly kind: 'resource'; readonly name: string }
  | { readonly kind: 'and' | 'or'; readonly items: readonly DependencyExpr[] };

/** The longest chain of dependencies allowed (WSFC's limit). */
export const DEPENDENCY_DEPTH_MAX = 100;
export const DEPENDENCY_EXPRESSION_LENGTH_MAX = 16_384;

type Token = { t: 'name'; v: string; at: number } | { t: 'and' | 'or' | '(' | ')'; at: number };

function tokenize(text: string): Token[] | ClusterErrorValue {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      out.push({ t: c, at: i });
      i++;
    } else if (c === '[') {
      const end = text.indexOf(']', i + 1);
      if (end < 0) return bad(text, i, 'unclosed "["');
      const name = text.slice(i + 1, end).trim();
      if (name === '') return bad(text, i, 'empty resource name "[]"');
      out.push({ t: 'name', v: name, at: i });
      i = end + 1;
    } else {
      const m = /^[A-Za-z]+/.exec(text.slice(i));
      const word = m?.[0].toLowerCase();
      if (word === 'and' || word === 'or') {
        out.push({ t: word, at: i });
        i += word.length;
      } else {
        return bad(text, i, `unexpected ${JSON.stringify(m?.[0] ?? c)} (names go in brackets, operators are "and" and "or")`);
      }
    }
  }
  return out;
}

function bad(text: string, at: number, what: string): ClusterErrorValue {
  return clusterError('ERROR_CLUSTER_INVALID_STRING_FORMAT', `dependency expression ${JSON.stringify(text)} at ${at}: ${what}`);
}

/** Parses an expression; empty text means "no dependencies" (undefined). */
export function parseDependencies(text: string): DependencyExpr | undefined | ClusterErrorValue {
  if (text.length > DEPENDENCY_EXPRESSION_LENGTH_MAX) {
    return clusterError('ERROR_CLUSTER_INVALID_STRING_FORMAT', `dependency expression is longer than ${DEPENDENCY_EXPRESSION_LENGTH_MAX} characters`);
  }
  const tokens = tokenize(text);
  if (!Array.isArray(tokens)) return tokens;
  if (tokens.length === 0) return undefined;
  let pos = 0;
  let nesting = 0;
  // expr := term (op term)*, with one operator per parenthesised level (no mixing without parentheses).
  const parseExpr = (): DependencyExpr | ClusterErrorValue => {
    const first = parseTerm();
    if ('code' in first) return first;
    const items = [first];
    let op: 'and' | 'or' | undefined;
    while (pos < tokens.length && tokens[pos]!.t !== ')') {
      const tok = tokens[pos]!;
      if (tok.t !== 'and' && tok.t !== 'or') return bad(text, tok.at, 'expected "and" or "or"');
      if (op && tok.t !== op) return bad(text, tok.at, `mixing "and" and "or" needs parentheses`);
      op = tok.t;
      pos++;
      const next = parseTerm();
      if ('code' in next) return next;
      items.push(next);
    }
    return op ? { kind: op, items } : first;
  };
  const parseTerm = (): DependencyExpr | ClusterErrorValue => {
    const tok = tokens[pos];
    if (!tok) return bad(text, text.length, 'expression ends where a name was expected');
    if (tok.t === 'name') {
      pos++;
      return { kind: 'resource', name: tok.v };
    }
    if (tok.t === '(') {
      if (++nesting > DEPENDENCY_DEPTH_MAX) return clusterError('ERROR_DEPENDENCY_TREE_TOO_COMPLEX', `dependency expression nests deeper than ${DEPENDENCY_DEPTH_MAX}`);
      pos++;
      const inner = parseExpr();
      if ('code' in inner) return inner;
      if (tokens[pos]?.t !== ')') return bad(text, tokens[pos]?.at ?? text.length, 'expected ")"');
      pos++;
      nesting--;
      return inner;
    }
    return bad(text, tok.at, `expected a [name] or "(", got ${JSON.stringify(tok.t)}`);
  };
  const expr = parseExpr();
  if ('code' in expr) return expr;
  if (pos < tokens.length) return bad(text, tokens[pos]!.at, 'unbalanced ")"');
  return expr;
}

/** Prints an expression in canonical form: "[A] and ([B] or [C])". */
export function formatDependencies(expr: DependencyExpr | undefined): string {
  if (!expr) return '';
  const go = (e: DependencyExpr, nested: boolean): string => {
    if (e.kind === 'resource') return `[${e.name}]`;
    const s = e.items.map((i) => go(i, true)).join(` ${e.kind} `);
    return nested ? `(${s})` : s;
  };
  return go(expr, false);
}

/** The expression with each resource name replaced by rename(name). */
export function renameProviders(expr: DependencyExpr, rename: (name: string) => string): DependencyExpr {
  return expr.kind === 'resource' ? { kind: 'resource', name: rename(expr.name) } : { kind: expr.kind, items: expr.items.map((e) => renameProviders(e, rename)) };
}

/** Every resource an expression names, in order of appearance, without repeats. */
export function providersOf(expr: DependencyExpr | undefined): string[] {
  const out: string[] = [];
  const walk = (e: DependencyExpr): void => {
    if (e.kind === 'resource') {
      if (!out.includes(e.name)) out.push(e.name);
    } else e.items.forEach(walk);
  };
  if (expr) walk(expr);
  return out;
}

/** Evaluates an expression given which providers are satisfied (e.g. Online). */
export function isSatisfied(expr: DependencyExpr | undefined, satisfied: (name: string) => boolean): boolean {
  if (!expr) return true;
  switch (expr.kind) {
    case 'resource':
      return satisfied(expr.name);
    case 'and':
      return expr.items.every((i) => isSatisfied(i, satisfied));
    case 'or':
      return expr.items.some((i) => isSatisfied(i, satisfied));
  }
}

/**
 * Validates a resource's new dependency expression against the cluster's resources:
 * every provider exists, is in the same group, is not the resource itself, no cycle
 * arises and no chain is deeper than DEPENDENCY_DEPTH_MAX.
 *
 * groupOf: a resource's group, or undefined if there is no such resource.
 * providersOfExisting: the providers of another resource as configured now.
 */
export function validateDependencies(
  resource: string,
  expr: DependencyExpr | undefined,
  groupOf: (name: string) => string | undefined,
  providersOfExisting: (name: string) => readonly string[],
): ClusterErrorValue | undefined {
  const group = groupOf(resource);
  if (group === undefined) return clusterError('ERROR_RESOURCE_NOT_FOUND', `resource ${JSON.stringify(resource)} not found`);
  const direct = providersOf(expr);
  for (const p of direct) {
    if (p === resource) return clusterError('ERROR_CIRCULAR_DEPENDENCY', `resource ${JSON.stringify(resource)} cannot depend on itself`);
    const pg = groupOf(p);
    if (pg === undefined) return clusterError('ERROR_RESOURCE_NOT_FOUND', `dependency of ${JSON.stringify(resource)}: resource ${JSON.stringify(p)} not found`);
    if (pg !== group) {
      return clusterError('ERROR_INVALID_PARAMETER', `resource ${JSON.stringify(resource)} (group ${JSON.stringify(group)}) cannot depend on ${JSON.stringify(p)} of another group (${JSON.stringify(pg)})`);
    }
  }
  const providers = (n: string): readonly string[] => (n === resource ? direct : providersOfExisting(n));
  // Depth-first search from the resource: a path back to it is a cycle; depth is the longest chain.
  const depthMemo = new Map<string, number>();
  const onPath: string[] = [];
  const visit = (n: string): number | ClusterErrorValue => {
    const known = depthMemo.get(n);
    if (known !== undefined) return known;
    if (onPath.includes(n)) {
      const cycle = [...onPath.slice(onPath.indexOf(n)), n].join(' -> ');
      return clusterError('ERROR_CIRCULAR_DEPENDENCY', `dependency cycle: ${cycle}`);
    }
    onPath.push(n);
    let depth = 0;
    for (const p of providers(n)) {
      const d = visit(p);
      if (typeof d !== 'number') return d;
      depth = Math.max(depth, d + 1);
    }
    onPath.pop();
    if (depth > DEPENDENCY_DEPTH_MAX) {
      return clusterError('ERROR_DEPENDENCY_TREE_TOO_COMPLEX', `dependency chain from ${JSON.stringify(n)} is deeper than ${DEPENDENCY_DEPTH_MAX}`);
    }
    depthMemo.set(n, depth);
    return depth;
  };
  const r = visit(resource);
  return typeof r === 'number' ? undefined : r;
}
