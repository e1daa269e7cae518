import { median } from "./stats.js";

/** One line of the results table: a figure, its baseline from the same run, and the ratio. */
export interface Row {
  id: string;
  figure: string;
  conditions: string;
  /** Where the measured Cellar ran: the Node host (default) or the Cloudflare host in workerd. */
  host?: "node" | "workerd";
  unit: Unit;
  baseline: { name: string; value: number } | undefined;
  value: { name: string; value: number };
  /** value / baseline (median of per-repetition ratios where repetitions are paired). */
  ratio: number | undefined;
  target: string;
  verdict: "PASS" | "MISS" | "info";
  /** Per-repetition values, for the JSON file. */
  samples?: { baseline?: number[]; value: number[]; ratio?: number[] };
}

export type Unit = "us" | "ms" | "per-s" | "bytes" | "count";

export interface Target {
  /** ratio must be ≤ max (or ≥ min) to pass. */
  max?: number;
  min?: number;
  text: string;
}

/** Builds a row from paired repetitions: ratio is the median of per-repetition ratios. */
export function pairedRow(
  base: Omit<Row, "ratio" | "verdict" | "baseline" | "value" | "samples" | "target">,
  baseline: { name: string; values: number[] },
  value: { name: string; values: number[] },
  target?: Target,
): Row {
  const ratios = value.values.map((v, i) => v / baseline.values[i]!);
  const ratio = median(ratios);
  return {
    ...base,
    baseline: { name: baseline.name, value: median(baseline.values) },
    value: { name: value.name, value: median(value.values) },
    ratio,
    target: target?.text ?? "—",
    verdict: verdictOf(ratio, target),
    samples: { baseline: baseline.values, value: value.values, ratio: ratios },
  };
}

type RowBase = Pick<Row, "id" | "figure" | "conditions" | "unit" | "host">;

/** An absolute bar: each repetition's value against `budget`, as a paired row with the budget as baseline (ratio ≤ 1 passes). */
export function budgetRow(base: RowBase, value: { name: string; values: number[] }, budget: number, targetText: string): Row {
  return pairedRow(base, { name: "budget", values: value.values.map(() => budget) }, value, { max: 1, text: targetText });
}

/** A figure for information: the median of the repetitions, no baseline, no target. */
export function infoRow(base: RowBase, value: { name: string; values: number[] }): Row {
  return {
    ...base,
    baseline: undefined,
    value: { name: value.name, value: median(value.values) },
    ratio: undefined,
    target: "—",
    verdict: "info",
    samples: { value: value.values },
  };
}

/** A count that must stay 0: the total over the repetitions. */
export function zeroRow(base: RowBase, value: { name: string; values: number[] }): Row {
  const total = value.values.reduce((a, b) => a + b, 0);
  return {
    ...base,
    baseline: undefined,
    value: { name: value.name, value: total },
    ratio: undefined,
    target: "0",
    verdict: total === 0 ? "PASS" : "MISS",
    samples: { value: value.values },
  };
}

export function verdictOf(ratio: number, target: Target | undefined): Row["verdict"] {
  if (!target) return "info";
  if (!Number.isFinite(ratio)) return "MISS";
  if (target.max !== undefined && ratio > target.max) return "MISS";
  if (target.min !== undefined && ratio < target.min) return "MISS";
  return "PASS";
}

export function formatValue(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return "n/a";
  switch (unit) {
    case "us":
      return value >= 1000 ? `${(value / 1000).toFixed(2)} ms` : `${value.toFixed(value < 100 ? 2 : 0)} µs`;
    case "ms":
      return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(0)} ms`;
    case "per-s":
      return value >= 1000 ? `${(value / 1000).toFixed(1)}k/s` : `${value.toFixed(0)}/s`;
    case "bytes":
      return value >= 10_240 ? `${(value / 1024).toFixed(1)} KiB` : `${value.toFixed(0)} B`;
    case "count":
      return value.toLocaleString("en-US", { maximumFractionDigits: 0 });
  }
}

/** Prints rows as an aligned text table. */
export function printTable(rows: readonly Row[], write: (line: string) => void = console.log): void {
  const header = ["ID", "Figure", "Host", "Conditions", "Baseline", "Cellar", "Ratio", "Target", "Verdict"];
  const cells = rows.map((r) => [
    r.id,
    r.figure,
    r.host ?? "node",
    r.conditions,
    r.baseline ? `${r.baseline.name} ${formatValue(r.baseline.value, r.unit)}` : "—",
    formatValue(r.value.value, r.unit),
    r.ratio === undefined || !Number.isFinite(r.ratio) ? "—" : `${r.ratio.toFixed(2)}×`,
    r.target,
    r.verdict,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((s, i) => s.padEnd(widths[i]!)).join(" | ")} |`;
  write(line(header));
  write(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const c of cells) write(line(c));
}
