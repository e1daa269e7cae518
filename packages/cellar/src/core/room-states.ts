import type { ConnectionRecord } from "./connection.js";
import type { RoomDefinition } from "./define-room.js";
import type { CellarError } from "./errors.js";
import type { InstanceStore } from "./ports.js";
import { StateTracker, type PersistOptions } from "./state-tracker.js";
import type { WriteSet } from "./write-set.js";

/**
 * Internal: the state trackers of one instance: the room's, and one per connection state
 * scope when the room declares `defineConnection`. A scope is per user (`u:<userId>`) when
 * the connection has a user, so that user's connections share it and it outlives them;
 * otherwise it is per connection (`c:<id>`) and ends with it.
 */
export class RoomStates {
  #room: StateTracker<any> | undefined;
  /** `trackersFor` of a handler without connection state, made once the room is loaded. */
  #roomOnly: ReadonlyArray<readonly [string, StateTracker<any>]> | undefined;
  readonly #connections = new Map<string, StateTracker<any>>();
  readonly #lingering = new Set<string>();

  constructor(
    private readonly def: RoomDefinition<any, any>,
    private readonly store: InstanceStore,
    private readonly report: (key: string, error: CellarError) => void,
  ) {}

  get room(): StateTracker<any> {
    return this.#room!;
  }

  async loadRoom(): Promise<void> {
    const { def } = this;
    this.#room = this.#tracker(def.initialState, def.persistedKeys, def.options.persistOptions, await this.store.readState(""));
    this.#roomOnly = undefined;
  }

  of(connection: ConnectionRecord): StateTracker<any> | undefined {
    return this.#connections.get(stateScope(connection));
  }

  async loadConnection(connection: ConnectionRecord): Promise<void> {
    const shape = this.def.options.connection;
    const scope = stateScope(connection);
    this.#lingering.delete(scope);
    if (!shape || this.#connections.has(scope)) return;
    const committed = await this.store.readState(scope);
    this.#connections.set(scope, this.#tracker(shape.initial, shape.persistedKeys, shape.persistOptions, committed));
  }

  /**
   * Forgets a closed connection's tracker unless another open connection shares its scope.
   * State of a connection without a user ends with its session (`ended`), so its rows are
   * dropped in `writes`. A tracker whose changes are still waiting to commit lingers until
   * they settle (see `sweep`), so that the user (or the session) coming back meanwhile
   * finds them.
   */
  dropConnection(
    connection: ConnectionRecord,
    others: Iterable<ConnectionRecord>,
    writes: WriteSet | undefined,
    uncommitted: (tracker: StateTracker<any>) => boolean,
    ended = true,
  ): void {
    const scope = stateScope(connection);
    const endsWithIt = ended && connection.userId === undefined;
    if (endsWithIt && this.def.options.connection) writes?.dropScope(scope);
    const tracker = this.#connections.get(scope);
    if (!tracker || sharedByOpen(scope, connection, others)) return;
    if (!endsWithIt && uncommitted(tracker)) {
      this.#lingering.add(scope);
      return;
    }
    this.#connections.delete(scope);
  }

  /** Forgets lingering trackers whose changes have settled and that nobody uses again. */
  sweep(open: Iterable<ConnectionRecord>, uncommitted: (tracker: StateTracker<any>) => boolean): void {
    for (const scope of this.#lingering) {
      const tracker = this.#connections.get(scope);
      if (tracker && (uncommitted(tracker) || sharedByOpen(scope, undefined, open))) continue;
      this.#connections.delete(scope);
      this.#lingering.delete(scope);
    }
  }

  /** The trackers a handler for `connection` may change, with their storage scopes (not to be modified). */
  trackersFor(connection: ConnectionRecord | undefined): ReadonlyArray<readonly [string, StateTracker<any>]> {
    // Most rooms have no connection state: their list is the same after every event.
    const roomOnly = (this.#roomOnly ??= [["", this.#room!]]);
    const tracker = connection && this.of(connection);
    return tracker ? [...roomOnly, [stateScope(connection), tracker]] : roomOnly;
  }

  #tracker(initial: () => object, keys: readonly string[], persist: PersistOptions | undefined, committed: Map<string, string>): StateTracker<any> {
    // Rows of keys no longer persisted (the room's code changed) are ignored.
    for (const key of committed.keys()) if (!keys.includes(key)) committed.delete(key);
    return new StateTracker({ initial: initial as () => Record<string, unknown>, persistedKeys: keys, persist, committed, report: this.report });
  }
}

function sharedByOpen(scope: string, except: ConnectionRecord | undefined, connections: Iterable<ConnectionRecord>): boolean {
  for (const other of connections) {
    if (other !== except && other.phase === "open" && stateScope(other) === scope) return true;
  }
  return false;
}

export function stateScope(connection: ConnectionRecord): string {
  return connection.userId !== undefined ? `u:${connection.userId}` : `c:${connection.id}`;
}
