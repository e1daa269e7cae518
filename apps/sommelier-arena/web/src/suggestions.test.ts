import { describe, expect, it } from "vitest";
import { autoFill, COUNTRIES, GRAPES, PSEUDONYMS, suggestPseudonym } from "./suggestions.js";

describe("autoFill", () => {
  it("fills only the empty distractors, never with the correct answer or a repeat", () => {
    for (let i = 0; i < 200; i++) {
      const filled = autoFill("color", "red", ["", "White", ""]);
      expect(filled[1]).toBe("White");
      const keys = ["red", ...filled].map((t) => t.toLowerCase());
      expect(new Set(keys).size).toBe(4);
    }
  });

  it("picks vintages one to five years from the correct one", () => {
    for (let i = 0; i < 100; i++) {
      for (const year of autoFill("vintage_year", "2015", ["", "", ""])) {
        const gap = Math.abs(Number(year) - 2015);
        expect(gap).toBeGreaterThanOrEqual(1);
        expect(gap).toBeLessThanOrEqual(5);
      }
    }
  });

  it("prefers the session's other wine names for the wine question", () => {
    const filled = autoFill("wine_name", "Opus One", ["", "", ""], ["Sassicaia", "Petrus", "Opus One", "Barolo"]);
    expect([...filled].sort()).toEqual(["Barolo", "Petrus", "Sassicaia"]);
  });

  it("never repeats a wine name that is both the session's and a famous one", () => {
    for (let i = 0; i < 300; i++) {
      const filled = autoFill("wine_name", "Cloudy Bay", ["", "", ""], ["Château Margaux"]);
      expect(new Set(["cloudy bay", ...filled.map((t) => t.toLowerCase())]).size).toBe(4);
    }
  });

  it("has lists as long as the editor promises", () => {
    expect(COUNTRIES.length).toBeGreaterThanOrEqual(30);
    expect(GRAPES.length).toBeGreaterThanOrEqual(60);
    expect(PSEUDONYMS.every((p) => p.length <= 24)).toBe(true);
    expect(suggestPseudonym(PSEUDONYMS[0])).not.toBe(PSEUDONYMS[0]);
  });
});
