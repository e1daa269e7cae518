/**
 * `cellar/verani/client`: Verani's `VeraniClient` on Cellar's client (reconnects, offline
 * queue, resume with replay). See docs/verani.md.
 */
export { VeraniClient } from "./verani-client.js";
export type { ConnectionState, ReconnectionConfig, VeraniClientOptions } from "./verani-client.js";
export { CellarError } from "../../core/errors.js";
