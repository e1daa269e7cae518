/*
 * Module hooks that run the TypeScript sources of the server processes, registered by
 * ts-register.mjs. Why not tsx, like the rest of the bench: tsx compiles with esbuild's
 * `keepNames`, which wraps every function in `__name(fn, "…")`. That defines an own `name`
 * property on each closure when it is created, which costs CPU on every call that creates
 * closures and puts each closure's properties in dictionary mode (~250 B more heap per
 * closure). Cellar as users run it (compiled by tsc) has none of that, and the `ws`
 * baseline is plain JavaScript, so measuring through tsx would charge Cellar for an
 * artefact of the benchmark. These hooks compile like tsc does: types stripped, nothing added.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { transform } from "esbuild";

/** Mirrors tsconfig.base.json where it changes emitted code. */
const tsconfigRaw = { compilerOptions: { target: "ES2022", useDefineForClassFields: true, verbatimModuleSyntax: true } };

/** Sources import siblings as `./x.js` (NodeNext style); the file on disk is `./x.ts`. */
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (error?.code !== "ERR_MODULE_NOT_FOUND" || !/^\.\.?\//.test(specifier) || !specifier.endsWith(".js")) throw error;
    return next(`${specifier.slice(0, -3)}.ts`, context);
  }
}

export async function load(url, context, next) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return next(url, context);
  const path = fileURLToPath(url);
  const { code } = await transform(await readFile(path, "utf8"), {
    loader: "ts",
    format: "esm",
    target: "node20",
    sourcemap: "inline",
    sourcefile: path,
    tsconfigRaw,
  });
  return { format: "module", source: code, shortCircuit: true };
}
