import { describe, expect, it } from "vitest";
import { firstKeyword, splitStatements } from "./sql-statements.js";

describe("splitStatements", () => {
  it("splits on semicolons outside literals, identifiers and comments", () => {
    expect(splitStatements("SELECT 1; SELECT ';' AS \"a;b\", [c;d], `e;f` -- x;y\n; /* ; */ SELECT 3;")).toEqual([
      "SELECT 1",
      "SELECT ';' AS \"a;b\", [c;d], `e;f` -- x;y",
      "SELECT 3",
    ]);
  });

  it("keeps a trigger body whole until the semicolon after END", () => {
    const trigger = "CREATE TEMP TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO b VALUES (1); UPDATE c SET n = n + 1; END";
    expect(splitStatements(`${trigger}; SELECT 2`)).toEqual([trigger, "SELECT 2"]);
  });

  it("drops empty statements and leading comments, and finds the first keyword", () => {
    expect(splitStatements(" ;; -- only a comment\n")).toEqual([]);
    expect(splitStatements("/* note */ COMMIT")).toEqual(["COMMIT"]);
    expect(firstKeyword("-- a\n/* b */  rollback")).toBe("ROLLBACK");
    expect(splitStatements("SELECT 'it''s; fine'")).toEqual(["SELECT 'it''s; fine'"]);
  });
});
