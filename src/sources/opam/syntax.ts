// The opam file format (opam files, `repo`, `url`): a lexer and a parser into a small syntax
// tree, following the grammar of opam-file-format 2.1.
//
//   file    := item*
//   item    := IDENT ':' value | IDENT STRING? '{' item* '}'          (field | section)
//   value   := atom | '(' value* ')' | '[' value* ']' | value '{' value* '}'   (group, list, options)
//            | value '&' value | value '|' value | '!' value | '?' value
//            | atom RELOP atom | RELOP atom | atom ENVOP atom
//   atom    := STRING ("…" or """…""") | IDENT | BOOL | INT
// Comments are `# …` to the end of the line and `(* … *)` (nested). Precedence, loosest first:
// `|`, `&`, prefix `!`/`?`, options `{…}`; relational and environment operators join atoms only.
// Every node carries the line it starts on; a malformed file throws OpamSyntaxError with the
// line of the offending token. Nothing here knows what a field means (see opam-file.ts).

export type OpamValue =
  | { type: 'string'; value: string; line: number }
  | { type: 'ident'; value: string; line: number }
  | { type: 'bool'; value: boolean; line: number }
  | { type: 'int'; value: number; line: number }
  | { type: 'list' | 'group'; items: OpamValue[]; line: number }
  | { type: 'option'; value: OpamValue; options: OpamValue[]; line: number }
  | { type: 'logop'; op: '&' | '|'; left: OpamValue; right: OpamValue; line: number }
  | { type: 'relop' | 'envop'; op: string; left: OpamValue; right: OpamValue; line: number }
  | { type: 'prefix-relop' | 'pfxop'; op: string; value: OpamValue; line: number };

export type OpamItem =
  | { type: 'field'; name: string; value: OpamValue; line: number }
  | { type: 'section'; kind: string; name: string | null; items: OpamItem[]; line: number };

export class OpamSyntaxError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

type TokenType = 'string' | 'ident' | 'bool' | 'int' | 'relop' | 'envop' | 'pfxop' | '&' | '|' | ':' | '{' | '}' | '[' | ']' | '(' | ')' | 'eof';

interface Token {
  type: TokenType;
  text: string;
  line: number;
}

// ident := (id | '_') ('+' (id | '_'))* (':' id)?   with id := ichar* alpha ichar*
const ID = '[A-Za-z0-9_-]*[A-Za-z][A-Za-z0-9_-]*';
const IDENT_RE = new RegExp(`(?:${ID}|_)(?:\\+(?:${ID}|_))*(?::${ID})?`, 'y');
const INT_RE = /-?[0-9_]+/y;
// Operators, longest first: `=+=` before `=+`, `!=` before `!`, `<=` before `<`.
const OPERATORS: [string, TokenType][] = [
  ['=+=', 'envop'], ['+=', 'envop'], ['=+', 'envop'], [':=', 'envop'], ['=:', 'envop'],
  ['!=', 'relop'], ['<=', 'relop'], ['>=', 'relop'], ['=', 'relop'], ['<', 'relop'], ['>', 'relop'], ['~', 'relop'],
  ['!', 'pfxop'], ['?', 'pfxop'], ['&', '&'], ['|', '|'],
  [':', ':'], ['{', '{'], ['}', '}'], ['[', '['], [']', ']'], ['(', '('], [')', ')'],
];
const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', "'": "'", n: '\n', r: '\r', t: '\t', b: '\b', ' ': ' ' };

class Lexer {
  private pos = 0;
  line = 1;

  constructor(private readonly text: string) {}

  next(): Token {
    this.skipBlanks();
    const { text, pos, line } = this;
    if (pos >= text.length) return { type: 'eof', text: '', line };
    if (text.startsWith('"""', pos)) return { type: 'string', text: this.string(pos + 3, '"""'), line };
    if (text[pos] === '"') return { type: 'string', text: this.string(pos + 1, '"'), line };
    const word = this.word(pos);
    if (word) return word;
    for (const [op, type] of OPERATORS) {
      if (text.startsWith(op, pos)) {
        this.pos += op.length;
        return { type, text: op, line };
      }
    }
    throw new OpamSyntaxError(`'${printable(text[pos])}' is not a valid token`, line);
  }

  /** An identifier, a boolean or an integer: the longest match; an integer or boolean wins a tie. */
  private word(pos: number): Token | null {
    IDENT_RE.lastIndex = INT_RE.lastIndex = pos;
    const ident = this.text.match(IDENT_RE)?.[0] ?? '';
    const int = this.text.match(INT_RE)?.[0] ?? '';
    if (ident === '' && int === '') return null;
    this.pos += Math.max(ident.length, int.length);
    if (int.length >= ident.length) return { type: 'int', text: int, line: this.line };
    if (ident === 'true' || ident === 'false') return { type: 'bool', text: ident, line: this.line };
    return { type: 'ident', text: ident, line: this.line };
  }

  private skipBlanks(): void {
    const { text } = this;
    while (this.pos < text.length) {
      const c = text[this.pos];
      if (c === '\n') {
        this.line++;
        this.pos++;
      } else if (c === ' ' || c === '\t' || c === '\r') this.pos++;
      else if (c === '#') {
        const end = text.indexOf('\n', this.pos);
        this.pos = end < 0 ? text.length : end;
      } else if (text.startsWith('(*', this.pos)) this.comment();
      else return;
    }
  }

  private comment(): void {
    const start = this.line;
    let depth = 0;
    while (this.pos < this.text.length) {
      if (this.text.startsWith('(*', this.pos)) {
        depth++;
        this.pos += 2;
      } else if (this.text.startsWith('*)', this.pos)) {
        this.pos += 2;
        if (--depth === 0) return;
      } else {
        if (this.text[this.pos] === '\n') this.line++;
        this.pos++;
      }
    }
    throw new OpamSyntaxError('unterminated comment', start);
  }

  private string(from: number, close: string): string {
    const { text } = this;
    const start = this.line;
    let out = '';
    let i = from;
    for (;;) {
      if (i >= text.length) throw new OpamSyntaxError('unterminated string', start);
      if (text.startsWith(close, i)) break;
      const c = text[i];
      if (c !== '\\') {
        if (c === '\n') this.line++;
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1] ?? '';
      if (e in ESCAPES) {
        out += ESCAPES[e];
        i += 2;
      } else if (/^[0-9]{3}$/.test(text.slice(i + 1, i + 4))) {
        const code = Number(text.slice(i + 1, i + 4));
        if (code > 255) throw new OpamSyntaxError('illegal escape sequence', this.line);
        out += String.fromCharCode(code);
        i += 4;
      } else if (/^x[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 4))) {
        out += String.fromCharCode(parseInt(text.slice(i + 2, i + 4), 16));
        i += 4;
      } else {
        // A backslash at the end of a line continues the string after the next line's indentation.
        const m = text.slice(i + 1, i + 200).match(/^\r?\n[ \t]*/);
        if (!m) throw new OpamSyntaxError('illegal escape sequence', this.line);
        this.line++;
        i += 1 + m[0].length;
      }
    }
    this.pos = i + close.length;
    return out;
  }
}

class Parser {
  private readonly lexer: Lexer;
  private tok: Token;

  constructor(text: string) {
    this.lexer = new Lexer(text);
    this.tok = this.lexer.next();
  }

  private advance(): Token {
    const t = this.tok;
    this.tok = this.lexer.next();
    return t;
  }

  private expect(type: TokenType, what: string): Token {
    if (this.tok.type !== type) throw this.unexpected(what);
    return this.advance();
  }

  private unexpected(what: string): OpamSyntaxError {
    const t = this.tok;
    const found = t.type === 'eof' ? 'end of file' : t.type === 'string' ? 'a string' : `'${printable(t.text)}'`;
    return new OpamSyntaxError(`expected ${what}, found ${found}`, t.line);
  }

  items(closing: 'eof' | '}'): OpamItem[] {
    const items: OpamItem[] = [];
    while (this.tok.type !== closing) {
      const name = this.expect('ident', closing === 'eof' ? 'a field or section name' : "a field name or '}'");
      if (this.tok.type === ':') {
        this.advance();
        items.push({ type: 'field', name: name.text, value: this.value(), line: name.line });
        continue;
      }
      const label = this.tok.type === 'string' ? this.advance().text : null;
      this.expect('{', label === null ? "':' or '{'" : "'{'");
      const body = this.items('}');
      this.advance();
      items.push({ type: 'section', kind: name.text, name: label, items: body, line: name.line });
    }
    return items;
  }

  private values(closing: ')' | ']' | '}'): OpamValue[] {
    const out: OpamValue[] = [];
    while (this.tok.type !== closing) {
      if (this.tok.type === 'eof') throw this.unexpected(`'${closing}'`);
      out.push(this.value());
    }
    this.advance();
    return out;
  }

  /** `|` binds loosest, then `&`; both associate to the left. */
  value(): OpamValue {
    return this.logical('|', () => this.logical('&', () => this.prefixed()));
  }

  private logical(op: '&' | '|', operand: () => OpamValue): OpamValue {
    let left = operand();
    while (this.tok.type === op) {
      this.advance();
      left = { type: 'logop', op, left, right: operand(), line: left.line };
    }
    return left;
  }

  private prefixed(): OpamValue {
    if (this.tok.type !== 'pfxop') return this.withOptions();
    const op = this.advance();
    return { type: 'pfxop', op: op.text, value: this.prefixed(), line: op.line };
  }

  private withOptions(): OpamValue {
    let value = this.primary();
    while (this.tok.type === '{') {
      this.advance();
      value = { type: 'option', value, options: this.values('}'), line: value.line };
    }
    return value;
  }

  private primary(): OpamValue {
    const t = this.tok;
    if (t.type === '(' || t.type === '[') {
      this.advance();
      return { type: t.type === '(' ? 'group' : 'list', items: this.values(t.type === '(' ? ')' : ']'), line: t.line };
    }
    if (t.type === 'relop') {
      this.advance();
      return { type: 'prefix-relop', op: t.text, value: this.atom(), line: t.line };
    }
    const left = this.atom();
    if (this.tok.type === 'relop' || this.tok.type === 'envop') {
      const op = this.advance();
      return { type: op.type === 'relop' ? 'relop' : 'envop', op: op.text, left, right: this.atom(), line: left.line };
    }
    return left;
  }

  private atom(): OpamValue {
    const t = this.tok;
    switch (t.type) {
      case 'string':
      case 'ident':
        this.advance();
        return { type: t.type, value: t.text, line: t.line };
      case 'bool':
        this.advance();
        return { type: 'bool', value: t.text === 'true', line: t.line };
      case 'int':
        this.advance();
        return { type: 'int', value: Number(t.text.replace(/_/g, '')), line: t.line };
      default:
        throw this.unexpected('a value');
    }
  }
}

/** Parses a whole file in the opam format; throws OpamSyntaxError (with a line) when malformed. */
export function parseOpam(text: string): OpamItem[] {
  return new Parser(text).items('eof');
}

/** Prints items back in the opam format (comments and layout are not kept; the meaning is). */
export function printOpam(items: OpamItem[], indent = ''): string {
  let out = '';
  for (const item of items) {
    if (item.type === 'field') out += `${indent}${item.name}: ${printValue(item.value)}\n`;
    else out += `${indent}${item.kind}${item.name === null ? '' : ` ${quote(item.name)}`} {\n${printOpam(item.items, indent + '  ')}${indent}}\n`;
  }
  return out;
}

function printValue(v: OpamValue): string {
  switch (v.type) {
    case 'string':
      return quote(v.value);
    case 'ident':
    case 'bool':
    case 'int':
      return String(v.value);
    case 'list':
      return `[${v.items.map(printValue).join(' ')}]`;
    case 'group':
      return `(${v.items.map(printValue).join(' ')})`;
    case 'option':
      return `${printValue(v.value)} {${v.options.map(printValue).join(' ')}}`;
    case 'logop':
    case 'relop':
    case 'envop':
      return `${printValue(v.left)} ${v.op} ${printValue(v.right)}`;
    case 'prefix-relop':
      return `${v.op} ${printValue(v.value)}`;
    case 'pfxop':
      return `${v.op}${printValue(v.value)}`;
  }
}

function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}

/** Untrusted text made safe and short for a one-line message (control characters escaped). */
export function printable(text: string): string {
  return JSON.stringify(text.slice(0, 120)).slice(1, -1);
}
