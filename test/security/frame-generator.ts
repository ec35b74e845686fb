// Seeded generator of hostile student frames: structured events with bad fields, mutated text and
// bytes, invalid UTF-8, deep nesting, huge numbers, forbidden ids, oversize, binary and garbage.

import { seededUnit } from '../helpers/seeded-random.js';

export interface FuzzFrame {
  bytes: Buffer;
  binary: boolean;
  /** Which family of input produced it, for coverage counts. */
  family: FrameFamily;
}

export type FrameFamily =
  | 'event'
  | 'hello'
  | 'mutated_text'
  | 'mutated_bytes'
  | 'deep'
  | 'huge_number'
  | 'bad_id'
  | 'big_value'
  | 'oversize'
  | 'binary'
  | 'garbage';

export interface GeneratorOptions {
  maxFrameBytes: number;
  maxValueBytes: number;
  /** A good seq for the next event (the socket fuzzer hands out increasing ones). */
  goodSeq(): number;
  /** Token texts a hello may carry. */
  tokens(): readonly string[];
  /** Relative weight of each family; missing ones are 0. */
  weights: Partial<Record<FrameFamily, number>>;
}

/** mulberry32 in [0, 1): small, fast and reproducible (test/helpers/seeded-random.ts). */
export const rng = seededUnit;

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-';
// JSON texts of characters an id must not hold: space, separators, escapes, non-ASCII, NUL, bidi.
const FORBIDDEN_ID_PARTS = [' ', '/', ':', '|', '*', '%', '{', '\\"', '\\\\', '\\n', '\\t', '\\u0000', 'é', '\\u200b', '\\u202e', 'Ω', '😀', '\\ud800', '+', '@', '#', ','];
// Characters an answer value may hold (as JS strings, JSON-encoded later): control characters,
// quotes, backslashes, SQL, emoji, CJK, separators; plus the ones it must not: NUL, lone surrogates.
const VALUE_PIECES = [
  'a', 'Z', '0', ' ', '"', "'", '\\', '\n', '\r', '\t', '\u0001', '\u001f', '\u007f', '\u0085', '\u009f', 'é', '€', '中', '😀', '🎓',
  '\u2028', '\u2029', '\ufeff', '\ufffd', '\u200b', "'; DROP TABLE ux_answers; --", '%s', '${x}', '\\N', 'NULL', '<script>',
];
const VALUE_POISON = ['\u0000', '\ud800', '\udfff', '\udc00\ud800'];
const SEQ_BAD = [
  '0', '-0', '-1', '1.5', '0.5', '-9007199254740991', '9007199254740992', '9007199254740993', '18446744073709551616', '1e16', '1e308',
  '1e400', '-1e400', '2.000000001', '"1"', 'null', 'true', 'false', '[1]', '{}', '{"seq":1}', '""',
];
const KIND_GOOD = ['"answer"', '"answer"', '"answer"', '"open"', '"submit"'];
const KIND_BAD = ['"Answer"', '"answer "', '""', 'null', '0', '"submit\\u0000"', '"\\u043epen"', '["open"]', 'true', '"close"'];
const TS_GOOD = ['0', '-0', '1764400000000', '253402300799999', 'null', '1e12', '1764400000000.0'];
const TS_BAD = ['253402300800000', '-1', '1.5', '1e400', '"0"', 'true', '[]', '-1e400', '9007199254740993'];
const EXTRA_FIELDS = [
  '"exam":"OTHER"', '"e":"OTHER"', '"s":"SOMEONE"', '"student":"SOMEONE"', '"__proto__":{"seq":1,"k":"open"}', '"constructor":{"prototype":{}}',
  '"seq2":-1', '"x":[1,{"y":null}]', '"T":"hello"', '"token":"v1.a.b"',
];
const NOISE_TEXT = ['{', '}', '[', ']', '"', ':', ',', '\\', 'u', '0', '1', '-', 'e', '.', ' ', 'null', 'true', '"t"', '"ev"', '"seq"', '\ud800', 'é', '\u00a0', '\u2028', '/*', '\t'];
// Byte sequences UTF-8 forbids: overlong, surrogates, past U+10FFFF, stray continuation, 5-byte, truncated.
const BAD_UTF8 = [[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xbf], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xff], [0xfe], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xc3]];
const GOOD_UTF8 = [[0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xef, 0xbb, 0xbf]];

let padding = Buffer.alloc(0);
function spaces(n: number): Buffer {
  if (padding.length < n) padding = Buffer.alloc(Math.max(n, 2 * padding.length), 0x20);
  return padding.subarray(0, n);
}

export class FrameGenerator {
  private readonly r: () => number;
  private readonly families: Array<[FrameFamily, number]>;
  private readonly totalWeight: number;

  constructor(
    seed: number,
    private readonly options: GeneratorOptions,
  ) {
    this.r = rng(seed);
    this.families = Object.entries(options.weights).filter(([, weight]) => (weight ?? 0) > 0) as Array<[FrameFamily, number]>;
    this.totalWeight = this.families.reduce((sum, [, weight]) => sum + weight, 0);
  }

  /** A uniform float in [0, 1): shared with callers so one seed drives a whole run. */
  random(): number {
    return this.r();
  }

  int(below: number): number {
    return Math.floor(this.r() * below);
  }

  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)] as T;
  }

  next(): FuzzFrame {
    let roll = this.r() * this.totalWeight;
    let family = this.families[0]![0];
    for (const [name, weight] of this.families) {
      roll -= weight;
      if (roll < 0) {
        family = name;
        break;
      }
    }
    return { family, ...this.make(family) };
  }

  private make(family: FrameFamily): { bytes: Buffer; binary: boolean } {
    const text = (value: string) => ({ bytes: Buffer.from(value, 'utf8'), binary: false });
    switch (family) {
      case 'event':
        return text(this.event({}));
      case 'hello':
        return text(this.hello());
      case 'mutated_text':
        return text(this.mutateText(this.r() < 0.85 ? this.event({}) : this.hello()));
      case 'mutated_bytes':
        return { bytes: this.mutateBytes(Buffer.from(this.r() < 0.85 ? this.event({}) : this.hello(), 'utf8')), binary: false };
      case 'deep':
        return text(this.deep());
      case 'huge_number':
        return text(this.event(this.r() < 0.5 ? { seq: this.hugeNumber() } : { ts: this.hugeNumber() }));
      case 'bad_id':
        return text(this.event({ k: '"answer"', q: this.badId() }));
      case 'big_value':
        return text(this.event({ k: '"answer"', v: this.bigValue() }));
      case 'oversize': {
        // Trailing whitespace is valid JSON, so only the size decides; the padding is shared.
        const base = Buffer.from(this.event({}), 'utf8');
        const size = this.options.maxFrameBytes + (this.r() < 0.5 ? 1 : 1 + this.int(this.options.maxFrameBytes));
        return { bytes: Buffer.concat([base, spaces(Math.max(0, size - base.length))]), binary: false };
      }
      case 'binary':
        return { bytes: this.r() < 0.5 ? Buffer.from(this.event({}), 'utf8') : this.randomBytes(1 + this.int(64)), binary: true };
      case 'garbage':
        return this.r() < 0.5 ? text(this.noise()) : { bytes: this.randomBytes(this.int(48)), binary: false };
    }
  }

  /** An `ev` frame built from raw JSON field texts; overrides replace single fields. */
  event(over: { seq?: string; k?: string; q?: string; v?: string; ts?: string }): string {
    const fields: string[] = [`"t":${this.r() < 0.97 ? '"ev"' : this.pick(['"EV"', '"hello"', '""', 'null', '"ack"'])}`];
    if (this.r() < 0.98 || over.seq !== undefined) fields.push(`"seq":${over.seq ?? this.seq()}`);
    const k = over.k ?? (this.r() < 0.9 ? this.pick(KIND_GOOD) : this.pick(KIND_BAD));
    if (this.r() < 0.98 || over.k !== undefined) fields.push(`"k":${k}`);
    if (k === '"answer"' || this.r() < 0.1) {
      if (this.r() < 0.97 || over.q !== undefined) fields.push(`"q":${over.q ?? (this.r() < 0.93 ? JSON.stringify(this.id()) : this.badId())}`);
      if (this.r() < 0.97 || over.v !== undefined) fields.push(`"v":${over.v ?? this.value()}`);
    }
    if (this.r() < 0.4 || over.ts !== undefined) fields.push(`"ts":${over.ts ?? (this.r() < 0.85 ? this.pick(TS_GOOD) : this.pick(TS_BAD))}`);
    if (this.r() < 0.15) fields.push(this.pick(EXTRA_FIELDS));
    for (let i = fields.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [fields[i], fields[j]] = [fields[j]!, fields[i]!];
    }
    const space = this.r() < 0.1 ? this.pick([' ', '\n', '\t', '\r\n ']) : '';
    return `${space}{${fields.join(',' + space)}}${space}`;
  }

  hello(): string {
    const token = this.r() < 0.9 ? JSON.stringify(this.pick(this.options.tokens())) : this.pick(['null', '5', '{}', '""', '["v1.a.b"]']);
    const extra = this.r() < 0.2 ? `,${this.pick(EXTRA_FIELDS)}` : '';
    return this.r() < 0.95 ? `{"t":"hello","token":${token}${extra}}` : `{"token":${token},"t":"hello"${extra}}`;
  }

  private seq(): string {
    if (this.r() < 0.92) {
      const seq = this.options.goodSeq();
      const spelling = this.r();
      return spelling < 0.9 ? String(seq) : spelling < 0.95 ? `${seq}.0` : `${seq}e0`;
    }
    return this.pick(SEQ_BAD);
  }

  private id(): string {
    const length = this.r() < 0.9 ? 1 + this.int(8) : this.r() < 0.5 ? 64 : 1 + this.int(64);
    let id = '';
    for (let i = 0; i < length; i++) id += ID_ALPHABET[this.int(ID_ALPHABET.length)];
    return id;
  }

  /** The JSON text of an id that breaks section 1, or of a question that is not a string. */
  private badId(): string {
    const roll = this.r();
    if (roll < 0.1) return '""';
    if (roll < 0.2) return JSON.stringify('Q'.repeat(65 + this.int(4)));
    if (roll < 0.3) return this.pick(['1', 'null', '["Q1"]', '{"q":"Q1"}', 'true']);
    const good = this.id();
    const at = this.int(good.length + 1);
    return `"${good.slice(0, at)}${this.pick(FORBIDDEN_ID_PARTS)}${good.slice(at)}"`;
  }

  /** The JSON text of an answer value: usually fine, sometimes poisoned or not a string. */
  private value(): string {
    const roll = this.r();
    if (roll < 0.04) return this.pick(['1', 'null', '[]', '{}', 'true']);
    let value = '';
    const pieces = this.int(10);
    for (let i = 0; i < pieces; i++) value += this.pick(VALUE_PIECES);
    if (roll < 0.12) {
      const at = this.int(value.length + 1);
      value = value.slice(0, at) + this.pick(VALUE_POISON) + value.slice(at);
    }
    return JSON.stringify(value);
  }

  /** Values around gateway.maxValueBytes, with multi-byte characters across the boundary. */
  private bigValue(): string {
    const max = this.options.maxValueBytes;
    const unit = this.pick(['a', 'é', '€', '😀', '\\']);
    const unitBytes = Buffer.byteLength(unit);
    const target = max - unitBytes * 2 + this.int(unitBytes * 4 + 1);
    let value = 'x'.repeat(Math.max(0, target % unitBytes)) + unit.repeat(Math.floor(Math.max(0, target) / unitBytes));
    if (this.r() < 0.1) value += this.pick(VALUE_POISON);
    return JSON.stringify(value);
  }

  /** Numbers no field accepts, or accepts only by their value: long digit strings and exponents. */
  private hugeNumber(): string {
    const roll = this.r();
    if (roll < 0.3) return (this.r() < 0.2 ? '-' : '') + '9'.repeat(16 + this.int(380));
    if (roll < 0.5) return `1e${this.pick(['15', '16', '21', '308', '309', '400', '99999', '-400', '+2'])}`;
    if (roll < 0.7) return `${1 + this.int(9)}.${'0'.repeat(this.int(30))}${this.int(10)}`;
    if (roll < 0.85) return `0.${'9'.repeat(15 + this.int(10))}`;
    return this.pick(['-0', '0e0', '-0.0', '1E2', '100e-2', '9007199254740991', '9007199254740991.5', '4503599627370495.5']);
  }

  /** Deep nesting, in an ignored field, as the whole frame, or in place of a field. */
  private deep(): string {
    const budget = Math.max(8, Math.floor((this.options.maxFrameBytes - 120) / 6));
    const depth = 1 + this.int(this.r() < 0.5 ? budget : 64);
    const arrays = this.r() < 0.5;
    const nest = arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    switch (this.int(5)) {
      case 0:
        return nest;
      case 1:
        return this.event({}).replace(/}\s*$/, `,"nest":${nest}}`);
      case 2:
        return `{"t":${nest}}`;
      case 3:
        return this.event({ seq: nest });
      default:
        return this.event({ k: '"answer"', v: nest });
    }
  }

  private mutateText(text: string): string {
    const rounds = 1 + this.int(3);
    let s = text;
    for (let round = 0; round < rounds; round++) {
      const at = this.int(s.length + 1);
      switch (this.int(6)) {
        case 0:
          s = s.slice(0, at) + this.pick(NOISE_TEXT) + s.slice(at);
          break;
        case 1:
          s = s.slice(0, at) + s.slice(at + 1 + this.int(4));
          break;
        case 2:
          s = s.slice(0, at);
          break;
        case 3:
          s = s.slice(0, at) + this.pick(NOISE_TEXT) + s.slice(at + 1);
          break;
        case 4:
          s = s.slice(at) + s.slice(0, at);
          break;
        default: {
          // Swap a value for another plausible one: keeps the frame parseable more often.
          s = s.replace(/:(-?[0-9][0-9.eE+-]*|"[^"]*"|null|true|false)/, `:${this.pick([...SEQ_BAD, ...TS_BAD, ...KIND_BAD])}`);
        }
      }
    }
    return s;
  }

  private mutateBytes(bytes: Buffer): Buffer {
    let out = bytes;
    const rounds = 1 + this.int(3);
    for (let round = 0; round < rounds; round++) {
      const at = this.int(out.length + 1);
      switch (this.int(5)) {
        case 0:
          out = Buffer.concat([out.subarray(0, at), Buffer.from(this.pick(BAD_UTF8)), out.subarray(at)]);
          break;
        case 1:
          out = Buffer.concat([out.subarray(0, at), Buffer.from(this.pick(GOOD_UTF8)), out.subarray(at)]);
          break;
        case 2:
          if (out.length > 0) {
            out = Buffer.from(out);
            const index = Math.min(at, out.length - 1);
            out[index] = out[index]! ^ (1 << this.int(8));
          }
          break;
        case 3:
          out = out.subarray(0, at);
          break;
        default:
          out = Buffer.concat([out.subarray(0, at), Buffer.from([0x80 + this.int(128)]), out.subarray(at)]);
      }
    }
    return out;
  }

  private noise(): string {
    let s = '';
    const n = this.int(24);
    for (let i = 0; i < n; i++) s += this.pick(NOISE_TEXT);
    return s;
  }

  private randomBytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}
