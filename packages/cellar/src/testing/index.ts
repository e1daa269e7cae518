/**
 * `cellar/testing`: start servers on free ports with temporary data, connect clients, and
 * run servers in child processes for crash tests.
 */
export { startTestServer, tempDataDir } from "./test-server.js";
export type { TestServer, TestServerOptions } from "./test-server.js";
export { announceListening, startServerProcess } from "./server-process.js";
export type { ServerProcess, ServerProcessOptions } from "./server-process.js";
export { startTcpProxy } from "./tcp-proxy.js";
export type { TcpProxy } from "./tcp-proxy.js";
export { startWorkerdServer } from "./workerd-server.js";
export type { WorkerdServer, WorkerdServerOptions } from "./workerd-server.js";
