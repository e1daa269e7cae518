import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { BucketHistogram } from "./bucket-histogram.js";

const BOUNDS = [0.001, 0.01, 0.1, 1];
const VALUES = [0, 0.0005, 0.001, 0.002, 0.01, 0.5, 1, 3, 120];

describe("BucketHistogram", () => {
  it("renders exactly as a prom-client histogram given the same observations", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const mine = new BucketHistogram({ name: "x_seconds", help: "How long.", labelNames: ["room"], buckets: BOUNDS, registry: ours });
    const reference = new Histogram({ name: "x_seconds", help: "How long.", labelNames: ["room"], buckets: BOUNDS, registers: [theirs] });
    const chat = mine.series({ room: "chat" });
    const quiz = mine.series({ room: "quiz" });
    for (const value of VALUES) {
      chat.observe(value);
      reference.observe({ room: "chat" }, value);
    }
    quiz.observe(0.05);
    reference.observe({ room: "quiz" }, 0.05);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // The JSON form too, but for prom-client's exemplar slots (none are recorded here).
    const json = async (registry: Registry) =>
      (await registry.getMetricsAsJSON()).map((m) => ({ ...m, values: m.values.map(({ labels, value, metricName }: any) => ({ labels, value, metricName })) }));
    expect(await json(ours)).toEqual(await json(theirs));
  });

  it("renders a series without labels, and one that saw nothing", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const mine = new BucketHistogram({ name: "batch", help: "Sizes.", labelNames: [], buckets: [1, 10], registry: ours });
    const reference = new Histogram({ name: "batch", help: "Sizes.", buckets: [1, 10], registers: [theirs] });
    mine.series({});
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
