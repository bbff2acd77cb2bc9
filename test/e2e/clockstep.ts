// Preload (node --import) that steps this process's wall clock: after
// WH_TEST_CLOCK_STEP_AFTER_MS (default 8000) from start, Date.now() returns the real time plus
// WH_TEST_CLOCK_STEP_MS (default -3 600 000: an hour back), as when NTP or an admin steps the
// system clock. performance.now() (the monotonic clock) is left alone. Process edge of the
// test of issue 8 item 9 (test/e2e/clockstep.test.ts).
const after = Number(process.env.WH_TEST_CLOCK_STEP_AFTER_MS ?? 8000);
const step = Number(process.env.WH_TEST_CLOCK_STEP_MS ?? -3_600_000);
const wall = Date.now.bind(Date);
const start = wall();
Date.now = () => {
  const t = wall();
  return t - start >= after ? t + step : t;
};
export {};
