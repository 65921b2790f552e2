// deb822 / RFC822-style control data as used by apt archives (Release, Packages, Sources).
//
// Contract: stanzas are separated by blank lines; a field is `Name: value`; a line starting with
// a space or tab continues the previous field. Field names are matched case-insensitively
// (stored lowercased); values keep their continuation lines joined with '\n', each trimmed.
// Every stanza also carries its raw text so a filter can re-emit it byte-for-byte.
// Lines starting with '#' are comments. Malformed lines are reported through `onProblem` (with a line number) and skipped.

export interface Stanza {
  /** lowercased field name -> value (continuation lines joined with '\n'). */
  fields: Map<string, string>;
  /** Field names in their original spelling and order. */
  order: string[];
  /** The stanza's lines exactly as read, without the separating blank line. */
  raw: string;
  /** 1-based line number of the stanza's first line. */
  line: number;
}

export type ProblemSink = (message: string) => void;

/** Incremental parser: feed lines, collect finished stanzas. */
export class StanzaParser {
  private fields = new Map<string, string>();
  private order: string[] = [];
  private rawLines: string[] = [];
  private current: string | null = null;
  private lineNo = 0;
  private startLine = 0;

  constructor(private readonly onProblem: ProblemSink = () => {}) {}

  /** Feeds one line (without its newline). Returns a stanza when this line ended one. */
  push(line: string): Stanza | null {
    this.lineNo++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') return this.finish();
    if (line.startsWith('#')) return null;
    if (this.rawLines.length === 0) this.startLine = this.lineNo;
    this.rawLines.push(line);
    if (line[0] === ' ' || line[0] === '\t') {
      if (this.current === null) {
        this.onProblem(`line ${this.lineNo}: continuation line without a field`);
        return null;
      }
      const prev = this.fields.get(this.current) ?? '';
      const piece = line.trim();
      // A lone '.' stands for an empty line inside a multi-line value.
      this.fields.set(this.current, prev === '' ? piece : `${prev}\n${piece === '.' ? '' : piece}`);
      return null;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || /\s/.test(line.slice(0, colon))) {
      this.onProblem(`line ${this.lineNo}: not a 'Field: value' line`);
      this.current = null;
      return null;
    }
    const name = line.slice(0, colon);
    const key = name.toLowerCase();
    if (this.fields.has(key)) this.onProblem(`line ${this.lineNo}: duplicate field ${name}`);
    else this.order.push(name);
    this.fields.set(key, line.slice(colon + 1).trim());
    this.current = key;
    return null;
  }

  /** Ends the input; returns the last stanza if the text did not end with a blank line. */
  finish(): Stanza | null {
    this.current = null;
    if (this.rawLines.length === 0) return null;
    const stanza: Stanza = {
      fields: this.fields,
      order: this.order,
      raw: this.rawLines.join('\n'),
      line: this.startLine,
    };
    this.fields = new Map();
    this.order = [];
    this.rawLines = [];
    return stanza;
  }
}

/** Parses a whole text into stanzas. */
export function parseStanzas(text: string, onProblem?: ProblemSink): Stanza[] {
  const parser = new StanzaParser(onProblem);
  const out: Stanza[] = [];
  for (const line of text.split('\n')) {
    const s = parser.push(line);
    if (s) out.push(s);
  }
  const last = parser.finish();
  if (last) out.push(last);
  return out;
}

/** Streams stanzas out of text arriving in chunks (split anywhere, even mid-line). */
export async function* streamStanzas(chunks: AsyncIterable<string>, onProblem?: ProblemSink): AsyncGenerator<Stanza> {
  const parser = new StanzaParser(onProblem);
  let rest = '';
  for await (const chunk of chunks) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    const done: Stanza[] = [];
    for (const line of lines) {
      const s = parser.push(line);
      if (s) done.push(s);
    }
    yield* done;
  }
  if (rest !== '') {
    const s = parser.push(rest);
    if (s) yield s;
  }
  const last = parser.finish();
  if (last) yield last;
}
