/**
 * The `cellar` command (`npx cellar help`). Started by bin/cellar.js, which npm links into
 * node_modules/.bin.
 */
import { runCli } from "./run.js";

process.exitCode = await runCli(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
