/**
 * `cellar/verani`: the room API of Verani's documentation on Cellar. A Verani program runs
 * after changing `from "verani"` to `from "cellar/verani"`; see docs/verani.md for the
 * mapping and the differences.
 */
export { defineRoom, createActorHandler } from "./room.js";
export { defineConnection, createConnectionHandler, createRoomHandler } from "./connection.js";
export type {
  ConnectionActor,
  ConnectionDefinitionOptions,
  ConnectionEmit,
  ConnectionEventHandler,
  ConnectionHandlerContext,
  ConnectionMessageContext,
  VeraniConnection,
} from "./connection.js";
export type { EventHandler, RoomDefinitionOptions, VeraniRoom } from "./room.js";
export type { ActorEmit, ConnectionMeta, EmitBuilder, MessageContext, SocketEmit, VeraniActor, VeraniContext } from "./context.js";
export { DEFAULT_CHANNEL } from "./context.js";
// What createActorHandler returns, named here so that programs exporting it can emit declarations.
export type { RoomDefinition } from "../core/define-room.js";
export { CellarError, PersistError } from "../core/errors.js";
