/**
 * A reader for the YAML the deploy files use, shared by the deploy and dashboard tests. No YAML
 * library is a dependency. This reads block mappings, block sequences, one-line flow sequences and
 * scalars, and throws on anything else (anchors, block scalars, several documents), so a manifest
 * written in a shape it cannot read fails loudly instead of passing unread.
 */
export type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };
interface YamlLine {
  indent: number;
  text: string;
  no: number;
}

const KEY_LINE = /^('[^']*'|"[^"]*"|[^\s'"#:\-[{][^:]*?|-[^\s:][^:]*?):(?:\s+(.*))?$/;
const isSeqLine = (text: string): boolean => text === '-' || text.startsWith('- ');

function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote !== null) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) {
      return line.slice(0, i).trimEnd();
    }
  }
  return line.trimEnd();
}

function splitFlow(inner: string): string[] {
  const items: string[] = [];
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (quote !== null) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === ',') {
      items.push(inner.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = inner.slice(start).trim();
  if (last !== '') items.push(last);
  return items;
}

export function parseYaml(source: string, file: string): Yaml {
  const lines: YamlLine[] = [];
  source.split('\n').forEach((raw, i) => {
    const text = stripComment(raw);
    if (text.trim() === '') return;
    if (/^\s*\t/.test(text)) throw new Error(`${file}:${i + 1}: tab in indentation`);
    lines.push({ indent: text.length - text.trimStart().length, text: text.trim(), no: i + 1 });
  });
  let pos = 0;
  const fail = (line: YamlLine, why: string): Error =>
    new Error(
      `${file}:${line.no}: ${why} (this test reads block maps and sequences, flow sequences, scalars)`,
    );

  const scalar = (value: string, line: YamlLine): Yaml => {
    if (value.startsWith("'")) {
      if (!value.endsWith("'") || value.length < 2) throw fail(line, 'unterminated quote');
      return value.slice(1, -1).replaceAll("''", "'");
    }
    if (value.startsWith('"')) return JSON.parse(value) as string;
    if (value.startsWith('[')) {
      if (!value.endsWith(']')) throw fail(line, 'multi-line flow sequence');
      return splitFlow(value.slice(1, -1)).map((item) => scalar(item, line));
    }
    if (value === '{}') return {};
    if (/^[{&*!|>]/.test(value)) throw fail(line, `unsupported value ${value}`);
    if (value === 'true' || value === 'false') return value === 'true';
    if (value === 'null' || value === '~') return null;
    if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
    return value;
  };
  const nested = (parentIndent: number): Yaml => {
    const next = lines[pos];
    if (next === undefined) return null;
    if (next.indent > parentIndent) return block(next.indent);
    if (next.indent === parentIndent && isSeqLine(next.text)) return sequence(parentIndent);
    return null;
  };
  const mapping = (indent: number): { [key: string]: Yaml } => {
    const out: { [key: string]: Yaml } = {};
    for (let line = lines[pos]; line !== undefined && line.indent === indent; line = lines[pos]) {
      const m = KEY_LINE.exec(line.text);
      if (m === null) throw fail(line, 'expected "key: value"');
      const key = scalar(m[1] ?? '', line);
      if (typeof key !== 'string') throw fail(line, 'non-string key');
      if (Object.hasOwn(out, key)) throw fail(line, `duplicate key ${key}`);
      pos++;
      out[key] = m[2] === undefined || m[2] === '' ? nested(indent) : scalar(m[2], line);
    }
    const next = lines[pos];
    if (next !== undefined && next.indent > indent) throw fail(next, 'unexpected indentation');
    return out;
  };
  const sequence = (indent: number): Yaml[] => {
    const out: Yaml[] = [];
    for (let line = lines[pos]; line?.indent === indent && isSeqLine(line.text); line = lines[pos]) {
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        pos++;
        out.push(nested(indent));
      } else if (KEY_LINE.test(rest)) {
        // "- key: value" opens a mapping whose keys line up with this first one.
        const childIndent = indent + line.text.length - rest.length;
        lines[pos] = { indent: childIndent, text: rest, no: line.no };
        out.push(mapping(childIndent));
      } else {
        pos++;
        out.push(scalar(rest, line));
      }
    }
    return out;
  };
  const block = (indent: number): Yaml =>
    isSeqLine(lines[pos]?.text ?? '') ? sequence(indent) : mapping(indent);

  if (lines.length === 0) return null;
  if (lines.some((l) => l.text === '---' || l.text === '...')) throw fail(lines[0]!, 'several documents');
  const doc = block(lines[0]!.indent);
  if (pos < lines.length) throw fail(lines[pos]!, 'unexpected content');
  return doc;
}

export type YamlMap = { [key: string]: Yaml };
export const isMap = (v: Yaml | undefined): v is YamlMap =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value at a path of keys and indexes; throws naming the path when it is absent. */
export function at(doc: Yaml, ...keys: Array<string | number>): Yaml {
  let cur: Yaml | undefined = doc;
  for (const k of keys) {
    cur = typeof k === 'number' ? (Array.isArray(cur) ? cur[k] : undefined) : isMap(cur) ? cur[k] : undefined;
    if (cur === undefined) throw new Error(`missing ${keys.join('.')}`);
  }
  return cur;
}
export const str = (v: Yaml): string => {
  if (typeof v !== 'string') throw new Error(`expected a string, got ${JSON.stringify(v)}`);
  return v;
};
export const seq = (v: Yaml): Yaml[] => {
  if (!Array.isArray(v)) throw new Error(`expected a sequence, got ${JSON.stringify(v)}`);
  return v;
};
export const map = (v: Yaml): YamlMap => {
  if (!isMap(v)) throw new Error(`expected a mapping, got ${JSON.stringify(v)}`);
  return v;
};
