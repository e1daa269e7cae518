// `node --import ./ts-register.mjs server.ts`: see ts-hooks.mjs for why this is not tsx.
import { register } from "node:module";

register("./ts-hooks.mjs", import.meta.url);
