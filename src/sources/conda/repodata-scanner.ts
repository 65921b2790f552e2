// Streaming scanner for conda's repodata.json shape, reading a file in fixed-size chunks.
//
// repodata.json is one top-level object whose `packages` / `packages.conda` members map
// filenames to record objects; real files reach hundreds of MB, so the document is never held
// whole. The scanner walks the top level byte by byte, hands every package record to
// `onRecord` as its raw JSON bytes (the caller JSON.parses that small slice), and every other
// top-level member (`info`, `removed`, `repodata_version`, ...) to `onMember` as raw bytes.
// Raw buffers are views into the scanner's window: valid only during the callback.
// Memory: one window (1 MiB, grown only for a larger value, up to 128 MiB). Structural errors throw
// RepodataFormatError with the byte offset; a record's own validity is checked by JSON.parse.
import { isAscii } from 'node:buffer';
import { open } from 'node:fs/promises';

export type PackageSection = 'packages' | 'packages.conda';

export interface RepodataHandlers {
  /** A package record: `key` is the filename, `raw` the record's JSON bytes. */
  onRecord(section: PackageSection, key: string, raw: Buffer): void;
  /** A top-level member other than the package maps, with its value's raw JSON bytes. */
  onMember?(key: string, raw: Buffer): void;
  onSectionStart?(section: PackageSection): void;
  onSectionEnd?(section: PackageSection): void;
}

export class RepodataFormatError extends Error {}

/** The text of a raw JSON slice (pure-ASCII slices, the usual case, decode much faster). */
export function rawText(raw: Buffer): string {
  return isAscii(raw) ? raw.toString('latin1') : raw.toString('utf8');
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;

const WINDOW_BYTES = 1 << 20;
/** Bound on one record or member (hostile input must not grow the window without limit). */
const MAX_VALUE_BYTES = 128 << 20;

enum State {
  Begin,
  TopFirst,
  TopKey,
  TopAfter,
  MapFirst,
  MapKey,
  MapAfter,
  End,
}

/** Index just past the string starting at `at` (a quote), or -1 if it ends beyond `len`. */
function stringEnd(buf: Buffer, at: number, len: number): number {
  let from = at + 1;
  for (;;) {
    const q = buf.indexOf(QUOTE, from);
    if (q < 0 || q >= len) return -1;
    let slashes = 0;
    for (let k = q - 1; k > at && buf[k] === BACKSLASH; k--) slashes++;
    if (slashes % 2 === 0) return q + 1;
    from = q + 1;
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Index just past the JSON value starting at `at`, or -1 if it may continue beyond `len`. */
function valueEnd(buf: Buffer, at: number, len: number): number {
  const first = buf[at];
  if (first === QUOTE) return stringEnd(buf, at, len);
  if (first === OPEN_OBJ || first === OPEN_ARR) {
    let depth = 0;
    let i = at;
    while (i < len) {
      const c = buf[i];
      if (c === QUOTE) {
        i = stringEnd(buf, i, len);
        if (i < 0) return -1;
        continue;
      }
      if (c === OPEN_OBJ || c === OPEN_ARR) depth++;
      else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return -1;
  }
  // A scalar (number, true, false, null): ends at a delimiter.
  for (let i = at; i < len; i++) {
    const c = buf[i];
    if (c === COMMA || c === CLOSE_OBJ || c === CLOSE_ARR || isSpace(c)) return i;
  }
  return -1;
}

function decodeKey(buf: Buffer, start: number, end: number): string {
  for (let i = start + 1; i < end - 1; i++) {
    if (buf[i] === BACKSLASH) return JSON.parse(buf.toString('utf8', start, end)) as string;
  }
  return buf.toString('utf8', start + 1, end - 1);
}

/** Scans `file`, calling `handlers` in document order. Throws RepodataFormatError on bad JSON. */
export async function scanRepodata(
  file: string,
  handlers: RepodataHandlers,
  windowBytes = WINDOW_BYTES,
): Promise<void> {
  const fh = await open(file, 'r');
  try {
    let buf = Buffer.allocUnsafe(windowBytes);
    let len = 0; // valid bytes in buf
    let pos = 0; // next unconsumed byte
    let base = 0; // file offset of buf[0]
    let eof = false;
    let state = State.Begin as State;
    let section: PackageSection | null = null;

    const fail = (what: string, at: number): never => {
      throw new RepodataFormatError(`not valid repodata JSON at byte ${base + at}: ${what}`);
    };

    while (state !== State.End) {
      // Skip whitespace; refill when the window is exhausted or a step needs more bytes.
      while (pos < len && isSpace(buf[pos])) pos++;
      const consumed = pos < len ? step() : -1;
      if (consumed >= 0) {
        pos = consumed;
        continue;
      }
      if (eof) fail('unexpected end of file', len);
      // Keep the unconsumed tail, grow the window if the tail fills it, read more.
      if (pos > 0) {
        buf.copy(buf, 0, pos, len);
        base += pos;
        len -= pos;
        pos = 0;
      }
      if (len === buf.length) {
        if (buf.length >= MAX_VALUE_BYTES) fail(`a single value is larger than ${MAX_VALUE_BYTES >> 20} MiB`, 0);
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, len, buf.length - len, null);
      if (bytesRead === 0) eof = true;
      len += bytesRead;
    }
    // Only whitespace may follow the top-level object.
    for (;;) {
      while (pos < len && isSpace(buf[pos])) pos++;
      if (pos < len) fail('trailing data after the top-level object', pos);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      base += len;
      len = bytesRead;
      pos = 0;
    }

    /** One token group from `pos` (a non-space byte). Returns the new pos, or -1 to refill. */
    function step(): number {
      let i = pos;
      const c = buf[i];
      switch (state) {
        case State.Begin: {
          if (c === 0xef && base + i === 0) {
            // UTF-8 byte order mark.
            if (len - i < 3) return -1;
            return i + 3;
          }
          if (c !== OPEN_OBJ) fail('expected "{" at the top level', i);
          state = State.TopFirst;
          return i + 1;
        }
        case State.TopFirst:
        case State.TopKey: {
          if (c === CLOSE_OBJ && state === State.TopFirst) {
            state = State.End;
            return i + 1;
          }
          if (c !== QUOTE) fail('expected a member name', i);
          const keyEnd = stringEnd(buf, i, len);
          if (keyEnd < 0) return -1;
          const key = decodeKey(buf, i, keyEnd);
          i = keyEnd;
          while (i < len && isSpace(buf[i])) i++;
          if (i >= len) return -1;
          if (buf[i] !== COLON) fail('expected ":"', i);
          i++;
          while (i < len && isSpace(buf[i])) i++;
          if (i >= len) return -1;
          if (key === 'packages' || key === 'packages.conda') {
            if (buf[i] !== OPEN_OBJ) fail(`"${key}" is not an object`, i);
            section = key;
            handlers.onSectionStart?.(key);
            state = State.MapFirst;
            return i + 1;
          }
          const end = valueEnd(buf, i, len);
          if (end < 0) return -1;
          handlers.onMember?.(key, buf.subarray(i, end));
          state = State.TopAfter;
          return end;
        }
        case State.TopAfter: {
          if (c === COMMA) {
            state = State.TopKey;
            return i + 1;
          }
          if (c === CLOSE_OBJ) {
            state = State.End;
            return i + 1;
          }
          return fail('expected "," or "}"', i);
        }
        case State.MapFirst:
        case State.MapKey: {
          if (c === CLOSE_OBJ && state === State.MapFirst) {
            handlers.onSectionEnd?.(section!);
            state = State.TopAfter;
            return i + 1;
          }
          if (c !== QUOTE) fail('expected a package filename', i);
          const keyEnd = stringEnd(buf, i, len);
          if (keyEnd < 0) return -1;
          const keyStart = i;
          i = keyEnd;
          while (i < len && isSpace(buf[i])) i++;
          if (i >= len) return -1;
          if (buf[i] !== COLON) fail('expected ":"', i);
          i++;
          while (i < len && isSpace(buf[i])) i++;
          if (i >= len) return -1;
          if (buf[i] !== OPEN_OBJ) fail('a package record is not an object', i);
          const end = valueEnd(buf, i, len);
          if (end < 0) return -1;
          handlers.onRecord(section!, decodeKey(buf, keyStart, keyEnd), buf.subarray(i, end));
          state = State.MapAfter;
          return end;
        }
        case State.MapAfter: {
          if (c === COMMA) {
            state = State.MapKey;
            return i + 1;
          }
          if (c === CLOSE_OBJ) {
            handlers.onSectionEnd?.(section!);
            section = null;
            state = State.TopAfter;
            return i + 1;
          }
          return fail('expected "," or "}"', i);
        }
        default:
          return fail('internal scanner state', i);
      }
    }
  } finally {
    await fh.close();
  }
}
