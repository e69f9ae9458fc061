// Not a timing assertion: it prints how long a keystroke's filter takes over
// 10,000 accounts (MEASURE lines) and checks that the answers are right.
import { describe, expect, it } from "vitest";
import { buildIndex, filterIndex, type Searchable } from "./filter";

const N = 10_000;

function synthetic(): Searchable[] {
  const out: Searchable[] = [];
  for (let i = 0; i < N; i++) {
    const customer = `customer${String(i % 250).padStart(3, "0")}`;
    const env = i % 3 === 0 ? "prod" : i % 3 === 1 ? "dev" : "test";
    out.push({
      id: String(100000000000 + i * 7919),
      name: `${customer} ${env} ${i}`,
      unit_path: `Customers/${customer}/${env}`,
      tags: [
        ["customer", customer],
        ["env", env],
        ["cost-center", `cc${i % 40}`],
      ],
    });
  }
  return out;
}

describe("picker filter over 10,000 accounts", () => {
  it("filters each keystroke correctly (and reports its time)", () => {
    const accounts = synthetic();
    const t0 = performance.now();
    const index = buildIndex(accounts);
    const buildMs = performance.now() - t0;

    // What a user types, one keystroke at a time.
    const typed = "customer042 env=prod";
    const keystrokes: string[] = [];
    for (let i = 1; i <= typed.length && keystrokes.length < 20; i++) keystrokes.push(typed.slice(0, i));
    while (keystrokes.length < 20) keystrokes.push(typed);
    expect(keystrokes).toHaveLength(20);

    const times: number[] = [];
    let last: number[] = [];
    for (const q of keystrokes) {
      const s = performance.now();
      last = filterIndex(index, q);
      times.push(performance.now() - s);
    }

    // customer042 appears for i % 250 == 42: 40 accounts; env=prod needs i % 3 == 0.
    const expected = accounts
      .map((a, i) => ({ a, i }))
      .filter(({ i }) => i % 250 === 42 && i % 3 === 0)
      .map(({ i }) => i);
    expect(last).toEqual(expected);
    expect(last.length).toBeGreaterThan(0);
    expect(filterIndex(index, "").length).toBe(N);
    expect(filterIndex(index, "CUSTOMER042").length).toBe(40);
    expect(filterIndex(index, "no-such-account")).toEqual([]);

    const sorted = [...times].sort((a, b) => a - b);
    const median = (sorted[9] + sorted[10]) / 2;
    const max = sorted[sorted.length - 1];
    console.log(
      `MEASURE picker filter: ${N} accounts, ${times.length} keystrokes: median ${median.toFixed(3)} ms, max ${max.toFixed(3)} ms (index built once in ${buildMs.toFixed(1)} ms)`,
    );
  });
});
