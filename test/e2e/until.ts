// Polling for the e2e tests: `f` every 250 ms until it gives a value, or an error naming `what`
// once `ms` have passed (every wait of a test is bounded).
export async function until<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}
