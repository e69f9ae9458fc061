import { describe, expect, it } from "vitest";
import { CHART_MAX, CHART_MIN, chartSize, groupTotals, learnLabels } from "./chart";

describe("the chart's size", () => {
  it("is the box's width in steps of 40, about half as tall, within the room left", () => {
    expect(chartSize(705, 600)).toEqual({ width: 680, height: 320 });
    expect(chartSize(1000, 900)).toEqual({ width: 1000, height: 520 });
    expect(chartSize(1000, 410)).toEqual({ width: 1000, height: 400 });
  });

  it("stays within bounds for a tiny, huge or unmeasured box", () => {
    expect(chartSize(100, 50)).toEqual(CHART_MIN);
    expect(chartSize(0, 0).width).toBe(CHART_MIN.width);
    expect(chartSize(Number.NaN, Number.NaN).width).toBe(CHART_MIN.width);
    expect(chartSize(9000, 9000)).toEqual({ width: CHART_MAX.width, height: 1240 });
  });

  it("gives the same size for a window dragged a few pixels", () => {
    expect(chartSize(1001, 800)).toEqual(chartSize(1039, 800));
  });
});

describe("the totals beside the chart", () => {
  const p = (key: string, label: string, amount: string) => ({ period: "2026-10-01", keys: [key], labels: [label], amount });

  it("sums each group over the range under its label, largest first, exactly", () => {
    const rows = groupTotals([
      p("AmazonEC2", "Amazon EC2", "0.10"),
      p("AmazonEC2", "Amazon EC2", "0.20"),
      p("AmazonS3", "Amazon S3", "1234.5"),
      p("AWSLambda", "AWS Lambda", "-3"),
    ]);
    expect(rows).toEqual([
      { label: "Amazon S3", amount: "1234.50" },
      { label: "Amazon EC2", amount: "0.30" },
      { label: "AWS Lambda", amount: "-3.00" },
    ]);
  });

  it("folds the groups past the top into one row; keys stand in when there are no labels", () => {
    const many = Array.from({ length: 12 }, (_, i) => p(`k${i}`, `Service ${i}`, String(100 - i)));
    const rows = groupTotals(many, 8);
    expect(rows).toHaveLength(9);
    expect(rows[8]).toEqual({ label: "4 others", amount: `${(92 + 91 + 90 + 89).toFixed(2)}` });
    // One past the top is shown rather than folded.
    expect(groupTotals(many.slice(0, 9), 8)).toHaveLength(9);
    expect(groupTotals([{ period: "2026-10-01", keys: ["111111111111"], labels: [], amount: "5" }])).toEqual([
      { label: "111111111111", amount: "5.00" },
    ]);
  });
});

describe("names learnt from charts", () => {
  it("maps keys to the labels charts gave them, keeping what was known; nothing new, the same map", () => {
    const p = (keys: string[], labels: string[]) => ({ period: "2026-10-01", keys, labels, amount: "1" });
    const a = learnLabels(new Map(), [p(["AmazonEC2"], ["Amazon EC2"]), p(["111111111111"], ["111111111111"])]);
    expect([...a]).toEqual([["AmazonEC2", "Amazon EC2"]]);
    const b = learnLabels(a, [p(["AWSLambda", "us-east-1"], ["AWS Lambda", "us-east-1"])]);
    expect(Object.fromEntries(b)).toEqual({ AmazonEC2: "Amazon EC2", AWSLambda: "AWS Lambda" });
    expect(learnLabels(b, [p(["AmazonEC2"], ["Amazon EC2"]), p(["x"], [])])).toBe(b);
  });
});
