#!/usr/bin/env node
// The `cellar` command. The CLI is TypeScript (src/node/cli/), built into dist/ by
// `npm run build`. This launcher is checked in, executable, because npm links a package's
// bins when it installs, before anything is built, and skips a bin whose file is missing.
import { existsSync } from "node:fs";

const main = new URL("../dist/node/cli/main.js", import.meta.url);
if (existsSync(main)) {
  await import(main.href);
} else {
  process.stderr.write("cellar: the cellar package is not built yet: run `npm run build` first\n");
  process.exitCode = 1;
}
