import { describe, expect, it } from "vitest";
import { rankingsCsv } from "./api.js";

describe("rankingsCsv", () => {
  it("writes a header, CRLF lines and RFC 4180 quoting", () => {
    const csv = rankingsCsv([
      { rank: 1, pseudonym: "Ana", score: 200 },
      { rank: 2, pseudonym: 'Bo "the nose", Jr', score: 100 },
      { rank: 3, pseudonym: "line\nbreak", score: 0 },
    ]);
    expect(csv).toBe('rank,pseudonym,score\r\n1,Ana,200\r\n2,"Bo ""the nose"", Jr",100\r\n3,"line\nbreak",0\r\n');
  });

  it("defuses pseudonyms a spreadsheet would run as formulas", () => {
    const csv = rankingsCsv([
      { rank: 1, pseudonym: "=HYPERLINK(\"http://x\")", score: 100 },
      { rank: 2, pseudonym: "+1", score: 0 },
      { rank: 2, pseudonym: "@SUM(A1)", score: 0 },
    ]);
    expect(csv).toBe('rank,pseudonym,score\r\n1,"\'=HYPERLINK(""http://x"")",100\r\n2,\'+1,0\r\n2,\'@SUM(A1),0\r\n');
  });
});
