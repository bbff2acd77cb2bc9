// Minimal typings for bencode 4 (ESM-only, ships no types).
declare module 'bencode' {
  export type BValue = number | bigint | Uint8Array | BValue[] | { [key: string]: BValue };
  export function encode(value: unknown): Uint8Array;
  export function decode(data: Uint8Array, start?: number, end?: number, encoding?: string): unknown;
  export function byteLength(value: unknown): number;
  const bencode: { encode: typeof encode; decode: typeof decode; byteLength: typeof byteLength };
  export default bencode;
}
