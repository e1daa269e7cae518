/*
 * Internal: the inspector's page, served as it is written (plain HTML, CSS and an ES module:
 * no build step). The files sit in the source tree beside this module and are found from it
 * whether it runs from src/ or from dist/ (both three folders below the package root); the
 * package ships src/.
 */
import { readFile } from "node:fs/promises";

const PAGE_DIR = new URL("../../../src/node/inspector/page/", import.meta.url);

export const PAGE_FILES = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/inspector.js": { file: "inspector.js", type: "text/javascript; charset=utf-8" },
  "/inspector.css": { file: "inspector.css", type: "text/css; charset=utf-8" },
} as const;

export type PageFile = keyof typeof PAGE_FILES;

/** Reads each file once, on first request. */
export class PageFiles {
  readonly #cache = new Map<PageFile, Promise<string>>();

  get(name: PageFile): Promise<string> {
    let text = this.#cache.get(name);
    if (!text) {
      text = readFile(new URL(PAGE_FILES[name].file, PAGE_DIR), "utf8");
      // A failed read (a broken install) is tried again next time.
      text.catch(() => this.#cache.delete(name));
      this.#cache.set(name, text);
    }
    return text;
  }
}
