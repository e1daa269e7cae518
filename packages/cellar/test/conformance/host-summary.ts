/*
 * A vitest reporter for `npm run test:conformance`: after the run, one line per host with
 * its pass count, so the two hosts can be compared at a glance.
 */
import type { Reporter, TestModule } from "vitest/node";

export default class HostSummary implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const counts = new Map<string, { passed: number; failed: number; skipped: number }>();
    for (const module of modules) {
      const name = module.project.name;
      const count = counts.get(name) ?? { passed: 0, failed: 0, skipped: 0 };
      counts.set(name, count);
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") count.passed++;
        else if (state === "failed") count.failed++;
        else count.skipped++;
      }
    }
    for (const [name, c] of [...counts].sort()) {
      process.stdout.write(`${name}: ${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ""}\n`);
    }
  }
}
