// Size flags for humans: 8G, 650M, 4.7GB, 1024 (bytes; binary multiples).
export function parseSize(value: string): number | null {
  const m = value.trim().match(/^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i);
  if (!m) return null;
  const mult = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const n = Math.floor(Number(m[1]) * mult);
  return n > 0 ? n : null;
}
