// A socket's source address as four 32-bit words (its 16 IPv6 bytes; IPv4 as ::ffff:a.b.c.d), the
// key of the shared per-address connection table. Exact for every IP; other strings are hashed.

import { isIPv4, isIPv6 } from 'node:net';

export type AddressKey = [number, number, number, number];

/** '127.0.0.1' and '::ffff:127.0.0.1' are the same source and get the same key. */
export function addressKey(address: string): AddressKey {
  const bare = address.split('%')[0]!; // an IPv6 zone (fe80::1%eth0) names the interface, not the peer
  if (isIPv4(bare)) return [0, 0, 0xffff, ipv4Word(bare)];
  if (isIPv6(bare)) return ipv6Words(bare);
  return hashedKey(address);
}

function ipv4Word(text: string): number {
  const [a, b, c, d] = text.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) | 0;
}

function ipv6Words(text: string): AddressKey {
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const word = ipv4Word(piece);
        out.push((word >>> 16) & 0xffff, word & 0xffff);
      } else {
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const [left = '', right] = text.split('::') as [string, string | undefined];
  const head = groups(left);
  const tail = right === undefined ? [] : groups(right);
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  return [0, 1, 2, 3].map((i) => ((all[2 * i]! << 16) | all[2 * i + 1]!) | 0) as AddressKey;
}

/** Not an IP (a socket already gone reports no address): FNV-1a spread over four words. */
function hashedKey(text: string): AddressKey {
  const key: AddressKey = [0x7f000000, 0, 0, 0];
  for (let word = 1; word < 4; word++) {
    let h = 0x811c9dc5 ^ word;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    key[word] = h | 0;
  }
  return key;
}
