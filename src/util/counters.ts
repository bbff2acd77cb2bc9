// Named counters (drops by reason, packets in/out…), cheap to bump, easy to show.
export class Counters {
  private readonly map = new Map<string, number>();

  add(name: string, n = 1): void {
    this.map.set(name, (this.map.get(name) ?? 0) + n);
  }

  get(name: string): number {
    return this.map.get(name) ?? 0;
  }

  total(): number {
    let t = 0;
    for (const v of this.map.values()) t += v;
    return t;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.map.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}
