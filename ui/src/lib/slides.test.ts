import { describe, expect, it } from "vitest";
import { amountColumns, changeTone, clampSlide, slideForClick, slideForKey, slidePosition } from "./slides";

describe("slide navigation", () => {
  it("goes on with Right, Down, Page Down and Space, back with Left, Up and Page Up, never past the ends", () => {
    for (const key of ["ArrowRight", "ArrowDown", "PageDown", " "]) {
      expect(slideForKey(key, 0, 9)).toBe(1);
      expect(slideForKey(key, 8, 9)).toBe(8);
    }
    for (const key of ["ArrowLeft", "ArrowUp", "PageUp"]) {
      expect(slideForKey(key, 5, 9)).toBe(4);
      expect(slideForKey(key, 0, 9)).toBe(0);
    }
    expect(slideForKey("Home", 5, 9)).toBe(0);
    expect(slideForKey("End", 2, 9)).toBe(8);
  });

  it("stops on Escape, even before the pack has pages; other keys are not its", () => {
    expect(slideForKey("Escape", 3, 9)).toBe("stop");
    expect(slideForKey("Escape", 0, 0)).toBe("stop");
    expect(slideForKey("ArrowRight", 0, 0)).toBeNull();
    expect(slideForKey("a", 0, 9)).toBeNull();
    expect(slideForKey("Enter", 0, 9)).toBeNull();
    expect(slideForKey("Tab", 0, 9)).toBeNull();
  });

  it("goes on from a click on the right half, back from the left half", () => {
    expect(slideForClick(900, 1280, 2, 9)).toBe(3);
    expect(slideForClick(640, 1280, 2, 9)).toBe(3);
    expect(slideForClick(639, 1280, 2, 9)).toBe(1);
    expect(slideForClick(10, 1280, 0, 9)).toBe(0);
    expect(slideForClick(1270, 1280, 8, 9)).toBe(8);
  });

  it("keeps an index within the pack and says the place 1-based", () => {
    expect(clampSlide(-3, 9)).toBe(0);
    expect(clampSlide(12, 9)).toBe(8);
    expect(clampSlide(4, 0)).toBe(0);
    expect(clampSlide(Number.NaN, 9)).toBe(0);
    expect(slidePosition(0, 9)).toBe("1 / 9");
    expect(slidePosition(8, 9)).toBe("9 / 9");
    expect(slidePosition(20, 9)).toBe("9 / 9");
    expect(slidePosition(0, 0)).toBe("0 / 0");
  });
});

describe("slide tables", () => {
  it("right-aligns the columns of amounts, changes and percentages only", () => {
    const columns = ["Service", "November 2026", "October 2026", "Change", "Change %"];
    const rows = [
      ["Amazon EC2", "$1,234.50", "$1,000.00", "+$234.50", "+23.5%"],
      ["Amazon S3", "$12.00", "$0.00", "+$12.00", "n/a"],
      ["3 other services", "CHF 1,000.00", "€3.10", "-€3.10", "-100.0%"],
    ];
    expect(amountColumns(columns, rows)).toEqual([false, true, true, true, true]);
    // Account ids are digits, not amounts: left as text.
    expect(amountColumns(["Account", "Account id"], [["Prod", "123456789012"], ["12 more accounts", ""]])).toEqual([false, false]);
    expect(amountColumns(["Month", "Total"], [])).toEqual([false, false]);
    expect(amountColumns(["What moved"], [["Amazon EC2 · USE1-BoxUsage"]])).toEqual([false]);
  });

  it("colours a change by its sign, not a zero or a plain figure", () => {
    expect(changeTone("+$234.50")).toBe("up");
    expect(changeTone("-€3.10")).toBe("down");
    expect(changeTone("-12.5%")).toBe("down");
    expect(changeTone("$0.00")).toBeNull();
    expect(changeTone("+$0.00")).toBeNull();
    expect(changeTone("$1,234.50")).toBeNull();
    expect(changeTone("Amazon EC2")).toBeNull();
  });
});
