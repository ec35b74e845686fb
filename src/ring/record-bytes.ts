// Allocation-free little-endian field access on byte views, for the ring record codecs.
// Plain Uint8Array arithmetic: no DataView per record, and views may sit at any offset.

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function writeU16(target: Uint8Array, pos: number, value: number): void {
  target[pos] = value & 0xff;
  target[pos + 1] = (value >>> 8) & 0xff;
}

export function readU16(view: Uint8Array, pos: number): number {
  return view[pos]! | (view[pos + 1]! << 8);
}

export function writeU32(target: Uint8Array, pos: number, value: number): void {
  target[pos] = value & 0xff;
  target[pos + 1] = (value >>> 8) & 0xff;
  target[pos + 2] = (value >>> 16) & 0xff;
  target[pos + 3] = value >>> 24;
}

export function readU32(view: Uint8Array, pos: number): number {
  return (view[pos]! | (view[pos + 1]! << 8) | (view[pos + 2]! << 16) | (view[pos + 3]! << 24)) >>> 0;
}

export function writeF64(target: Uint8Array, pos: number, value: number): void {
  f64[0] = value;
  if (littleEndian) {
    for (let i = 0; i < 8; i++) target[pos + i] = f64Bytes[i]!;
  } else {
    for (let i = 0; i < 8; i++) target[pos + i] = f64Bytes[7 - i]!;
  }
}

export function readF64(view: Uint8Array, pos: number): number {
  if (littleEndian) {
    for (let i = 0; i < 8; i++) f64Bytes[i] = view[pos + i]!;
  } else {
    for (let i = 0; i < 8; i++) f64Bytes[7 - i] = view[pos + i]!;
  }
  return f64[0]!;
}

/** True when `value` is an integer that a u32 field holds exactly. */
export function isU32(value: number): boolean {
  return value >>> 0 === value;
}
