// Go templates as docker's --format takes them: fields, pipelines, the functions docker adds (json, join,
// split, upper, lower, title, pad, truncate) and Go's own (index, len, printf, println, not, and, or,
// eq, ne), if/else, range (with $i, $v :=), with, trim markers. Anything else is refused by name: a
// format silently printed as text would look like data.
import { EngineError } from '../errors.js';

type Value = unknown;
type Node =
  | { t: 'text'; s: string }
  | { t: 'out'; p: string }
  | { t: 'if' | 'with'; p: string; then: Node[]; else: Node[] }
  | { t: 'range'; p: string; vars: string[]; then: Node[]; else: Node[] };
type Scope = { dot: Value; root: Value; vars: Map<string, Value> };

const bad = (tpl: string, why: string) =>
  new EngineError('INVALID_CONFIG', `Expected a Go template as docker's --format takes it, got \`${tpl}\`: ${why}`);

/** Parse tpl into nodes; every action is checked here, before anything is printed. */
function parse(tpl: string): Node[] {
  const parts: Array<{ text: string } | { act: string }> = [];
  const re = /\{\{(-\s)?([\s\S]*?)(\s-)?\}\}/g;
  let last = 0;
  for (let m = re.exec(tpl); m; m = re.exec(tpl)) {
    let text = tpl.slice(last, m.index);
    if (m[1] !== undefined) text = text.replace(/\s+$/, '');
    parts.push({ text });
    parts.push({ act: m[2].trim() });
    last = re.lastIndex;
    if (m[3] !== undefined) {
      const ws = /^\s*/.exec(tpl.slice(last))![0];
      last += ws.length;
    }
  }
  parts.push({ text: tpl.slice(last) });
  let i = 0;
  const block = (top: boolean): { nodes: Node[]; end: 'end' | 'else' | 'eof' } => {
    const nodes: Node[] = [];
    for (; i < parts.length; ) {
      const part = parts[i++];
      if ('text' in part) {
        if (part.text) nodes.push({ t: 'text', s: part.text });
        continue;
      }
      const a = part.act;
      if (a.startsWith('/*')) continue; // a comment
      if (a === 'end' || a === 'else') {
        if (top) throw bad(tpl, `{{${a}}} without an if, range or with`);
        return { nodes, end: a };
      }
      const kw = /^(if|with|range)\s+([\s\S]+)$/.exec(a);
      if (kw) {
        let p = kw[2];
        let vars: string[] = [];
        const decl = kw[1] === 'range' ? /^(\$\w*)\s*(?:,\s*(\$\w*))?\s*:=\s*([\s\S]+)$/.exec(p) : null;
        if (decl) [vars, p] = [decl[2] ? [decl[1], decl[2]] : [decl[1]], decl[3]];
        check(tpl, p);
        const body = block(false);
        const other = body.end === 'else' ? block(false) : { nodes: [], end: body.end };
        if (other.end !== 'end') throw bad(tpl, `{{${kw[1]}}} without its {{end}}`);
        nodes.push(kw[1] === 'range' ? { t: 'range', p, vars, then: body.nodes, else: other.nodes } : { t: kw[1] as 'if' | 'with', p, then: body.nodes, else: other.nodes });
        continue;
      }
      check(tpl, a);
      nodes.push({ t: 'out', p: a });
    }
    return { nodes, end: 'eof' };
  };
  return block(true).nodes;
}

/** Split a pipeline's text into tokens: strings, numbers, fields, variables, names, |, ( and ). */
function tokens(src: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\(|\)((?:\.\w+)+)?|\||[^\s()|"`]+)/y;
  let end = 0; // a failed sticky match resets lastIndex: the end of the last match is kept apart
  for (let m = re.exec(src); m; m = re.exec(src)) {
    // (pipeline).Field: the fields apply to the parenthesised value, marked ~ as a token of their own
    if (m[2]) out.push(')', `~${m[2]}`);
    else out.push(m[1]);
    end = re.lastIndex;
  }
  if (src.slice(end).trim()) throw new Error(`cannot read \`${src.slice(end).trim()}\``);
  return out;
}

const FUNCS: Record<string, (...a: Value[]) => Value> = {
  json: (v) => JSON.stringify(v ?? null),
  join: (v, sep) => (Array.isArray(v) ? v.map(show).join(String(sep)) : show(v)),
  split: (v, sep) => String(v).split(String(sep)),
  upper: (v) => show(v).toUpperCase(),
  lower: (v) => show(v).toLowerCase(),
  title: (v) => show(v).replace(/\b\w/g, (c) => c.toUpperCase()),
  pad: (v, l, r) => ' '.repeat(Number(l)) + show(v) + ' '.repeat(Number(r)),
  truncate: (v, n) => [...show(v)].slice(0, Number(n)).join(''),
  index: (v, ...keys) => keys.reduce((o: Value, k) => (o as Record<string, Value> | undefined)?.[String(k)], v),
  len: (v) => (Array.isArray(v) || typeof v === 'string' ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0),
  printf: (f, ...a) => String(f).replace(/%[svdq%]/g, (c) => (c === '%%' ? '%' : c === '%q' ? JSON.stringify(show(a.shift())) : show(a.shift()))),
  print: (...a) => a.map(show).join(''),
  println: (...a) => a.map(show).join(' ') + '\n',
  not: (v) => !truthy(v),
  and: (...a) => a.find((v) => !truthy(v)) ?? a.at(-1),
  or: (...a) => a.find((v) => truthy(v)) ?? a.at(-1),
  eq: (a, ...b) => b.some((x) => x === a),
  ne: (a, b) => a !== b,
};

/** Refuse a pipeline with a function docker does not have, or text it cannot read. */
function check(tpl: string, p: string): void {
  let t: string[];
  try {
    t = tokens(p);
  } catch (e) {
    throw bad(tpl, (e as Error).message);
  }
  for (const w of t) if (/^[A-Za-z_]\w*$/.test(w) && !FUNCS[w] && !['true', 'false', 'nil'].includes(w)) throw bad(tpl, `no function \`${w}\``);
}

function truthy(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return !!v;
}

/** A value as Go's fmt prints it: maps as map[k:v] (keys sorted), slices as [a b], nothing as <no value>. */
function show(v: Value): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`;
  if (typeof v === 'object') return `map[${Object.keys(v).sort().map((k) => `${k}:${show((v as Record<string, Value>)[k])}`).join(' ')}]`;
  return String(v);
}

/** Evaluate one pipeline: commands joined by |, each value passed as the next command's last argument. */
function pipeline(p: string, s: Scope): Value {
  const t = tokens(p);
  let pos = 0;
  const term = (): Value => {
    const w = t[pos++];
    if (w === '(') {
      let v = command(')');
      pos++;
      if (t[pos]?.startsWith('~')) for (const k of t[pos++].slice(1).split('.').filter(Boolean)) v = v && typeof v === 'object' ? (v as Record<string, Value>)[k] : undefined;
      return v;
    }
    if (/^["`]/.test(w)) return w[0] === '`' ? w.slice(1, -1) : (JSON.parse(w) as string);
    if (/^-?\d+(\.\d+)?$/.test(w)) return Number(w);
    if (w === 'true' || w === 'false') return w === 'true';
    if (w === 'nil') return null;
    const m = /^(\$\w*)?((?:\.\w+)*|\.)$/.exec(w);
    if (!m) throw new Error(`cannot read \`${w}\``);
    let v: Value = m[1] === undefined ? s.dot : m[1] === '$' ? s.root : s.vars.get(m[1]);
    if (m[1] !== undefined && m[1] !== '$' && !s.vars.has(m[1])) throw new Error(`undefined variable \`${m[1]}\``);
    for (const k of m[2].split('.').filter(Boolean)) v = v && typeof v === 'object' ? (v as Record<string, Value>)[k] : undefined;
    return v;
  };
  const command = (stop?: string): Value => {
    let v: Value;
    for (let first = true; pos < t.length && t[pos] !== stop; first = false) {
      if (!first && t[pos++] !== '|') throw new Error('expected | between commands');
      const args: Value[] = [];
      const name = FUNCS[t[pos]] ? t[pos++] : undefined;
      while (pos < t.length && t[pos] !== '|' && t[pos] !== stop) args.push(term());
      if (!first) args.push(v);
      if (name) v = FUNCS[name](...args);
      else if (typeof args[0] === 'function') v = (args[0] as (...a: Value[]) => Value)(...args.slice(1)); // a method such as ps's .Label "k"
      else if (args.length === 1) v = args[0];
      else throw new Error(`\`${p}\` gives arguments to a value that is not a function`);
    }
    return v;
  };
  return command();
}

function run(nodes: Node[], s: Scope, out: string[]): void {
  for (const n of nodes) {
    if (n.t === 'text') out.push(n.s);
    else if (n.t === 'out') out.push(show(pipeline(n.p, s)));
    else if (n.t === 'if') run(truthy(pipeline(n.p, s)) ? n.then : n.else, s, out);
    else if (n.t === 'with') {
      const v = pipeline(n.p, s);
      run(truthy(v) ? n.then : n.else, truthy(v) ? { ...s, dot: v } : s, out);
    } else {
      const r = n as Extract<Node, { t: 'range' }>; // 'if' | 'with' share a member, which narrowing keeps
      const v = pipeline(r.p, s);
      const items: Array<[Value, Value]> = Array.isArray(v) ? v.map((x, i) => [i, x]) : v && typeof v === 'object' ? Object.keys(v).sort().map((k) => [k, (v as Record<string, Value>)[k]]) : [];
      if (!items.length) run(r.else, s, out);
      for (const [k, x] of items) {
        const vars = new Map(s.vars);
        if (r.vars.length === 1) vars.set(r.vars[0], x);
        if (r.vars.length === 2) vars.set(r.vars[0], k).set(r.vars[1], x);
        run(r.then, { ...s, dot: x, vars }, out);
      }
    }
  }
}

/** A template compiled once (refused now if docker would refuse it), rendered for each value. */
export function compileTemplate(tpl: string): (data: Value) => string {
  const nodes = parse(tpl.replace(/\\n/g, '\n').replace(/\\t/g, '\t'));
  return (data) => {
    const out: string[] = [];
    try {
      run(nodes, { dot: data, root: data, vars: new Map() }, out);
    } catch (e) {
      if (e instanceof EngineError) throw e;
      throw bad(tpl, (e as Error).message);
    }
    return out.join('');
  };
}

/** Render tpl for data (inspect -f, ls --format). */
export function renderTemplate(tpl: string, data: Value): string {
  return compileTemplate(tpl)(data);
}

/** Rows aligned as docker's tabwriter does (cells split at tabs, minimum width 10, padding 3). */
function tabwriter(lines: string[]): string {
  const cells = lines.map((l) => l.split('\t'));
  const widths: number[] = [];
  for (const row of cells) row.slice(0, -1).forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 10, c.length + 3)));
  return cells.map((row) => row.map((c, i) => (i < row.length - 1 ? c.padEnd(widths[i]) : c)).join('').trimEnd() + '\n').join('');
}

/**
 * A listing's --format as docker reads it: `json` (one object a line), `table TEMPLATE` (headers, the
 * header context giving each field's column name, then aligned rows; `table` alone: defaultTable), or
 * a template rendered once per item.
 */
export function formatRows(format: string, items: Value[], headers: Value, defaultTable: string, json: (item: Value) => Value = (i) => i): string {
  if (format.trim() === 'json') return items.map((i) => JSON.stringify(json(i)) + '\n').join('');
  const table = /^table(\s|$)/.test(format);
  const render = compileTemplate(table ? format.replace(/^table\s*/, '') || defaultTable : format);
  const lines = items.map(render);
  return table ? tabwriter([render(headers), ...lines]) : lines.map((l) => l + '\n').join('');
}
