import { PersistError } from "./errors.js";
import { decodeValue, encodeValue } from "./serialize.js";

/** How persisted keys are watched and what a storage failure does. */
export interface PersistOptions {
  /**
   * `true` (default): a key is saved when it is assigned (`ctx.state.list = [...list, x]`).
   * `false`: a key is also saved when something inside it changes (`ctx.state.list.push(x)`,
   * `map.set`, `set.add`…); Cellar re-encodes every persisted key a handler read or assigned
   * and writes the ones whose encoding changed.
   */
  shallow?: boolean;
  /** `true` (default): an unstorable value or corrupt stored data fails the handler. */
  throwOnError?: boolean;
}

/** What `encodeTouched` returns when a handler touched nothing: read, never written to. */
const NO_CHANGES: Map<string, string> = new Map();

export type PersistErrorReporter = (key: string, error: PersistError) => void;

/**
 * Internal: the proxy behind `ctx.state` (and a connection's `state`). It keeps the encoded
 * form of each persisted key twice: as last flushed (committed or waiting for the commit)
 * and as last committed, so a failed handler or a failed commit can put values back.
 * Stored values are decoded on first read, which keeps waking a large room cheap.
 */
export class StateTracker<S extends object> {
  readonly proxy: S;
  readonly #values: Record<string, unknown>;
  readonly #initial: () => Record<string, unknown>;
  readonly #persisted: ReadonlySet<string>;
  readonly #deep: boolean;
  readonly #throwOnError: boolean;
  readonly #report: PersistErrorReporter;
  /** Encoded value as last flushed. */
  readonly #flushed: Map<string, string>;
  /** Encoded value as last committed. */
  readonly #committed: Map<string, string>;
  readonly #undecoded = new Set<string>();
  readonly #corrupt = new Map<string, PersistError>();
  /** Persisted keys assigned (or, in deep mode, read) since the last flush. */
  readonly #touched = new Set<string>();

  constructor(options: {
    initial: () => Record<string, unknown>;
    persistedKeys: readonly string[];
    persist: PersistOptions | undefined;
    committed: Map<string, string>;
    report: PersistErrorReporter;
  }) {
    this.#initial = options.initial;
    this.#values = options.initial();
    this.#persisted = new Set(options.persistedKeys);
    this.#deep = options.persist?.shallow === false;
    this.#throwOnError = options.persist?.throwOnError !== false;
    this.#report = options.report;
    this.#committed = options.committed;
    this.#flushed = new Map(options.committed);
    for (const key of options.committed.keys()) if (this.#persisted.has(key)) this.#undecoded.add(key);
    this.proxy = new Proxy(this.#values, this.#handler()) as S;
  }

  #handler(): ProxyHandler<Record<string, unknown>> {
    return {
      get: (target, key, receiver) => {
        if (typeof key === "string" && this.#persisted.has(key)) {
          if (this.#undecoded.has(key)) this.#decode(key);
          if (this.#deep) this.#touched.add(key);
        }
        return Reflect.get(target, key, receiver);
      },
      set: (target, key, value, receiver) => {
        if (typeof key === "string" && this.#persisted.has(key)) this.#assigned(key);
        return Reflect.set(target, key, value, receiver);
      },
      deleteProperty: (target, key) => {
        if (typeof key === "string" && this.#persisted.has(key)) this.#assigned(key);
        return Reflect.deleteProperty(target, key);
      },
    };
  }

  #assigned(key: string): void {
    this.#undecoded.delete(key);
    this.#corrupt.delete(key);
    this.#touched.add(key);
  }

  #decode(key: string): void {
    const known = this.#corrupt.get(key);
    if (known) throw known;
    try {
      this.#values[key] = decodeValue(key, this.#flushed.get(key)!);
      this.#undecoded.delete(key);
    } catch (error) {
      const persistError = error as PersistError;
      this.#report(key, persistError);
      if (this.#throwOnError) {
        this.#corrupt.set(key, persistError);
        throw persistError;
      }
      // Reported, then the key starts from its initial value; the corrupt row stays
      // untouched until the room assigns the key.
      this.#values[key] = this.#initial()[key];
      this.#undecoded.delete(key);
    }
  }

  /**
   * Encodes the touched keys and returns those whose encoding changed, without recording
   * anything: `acceptFlush` does that once every tracker of the handler has encoded. An
   * unstorable value throws a `PersistError` naming the key (or, with `throwOnError: false`,
   * is reported and skipped).
   */
  encodeTouched(): Map<string, string> {
    if (this.#touched.size === 0) return NO_CHANGES;
    const changes = new Map<string, string>();
    for (const key of this.#touched) {
      let encoded: string;
      try {
        encoded = encodeValue(key, this.#values[key]);
      } catch (error) {
        this.#report(key, error as PersistError);
        if (this.#throwOnError) throw error;
        continue;
      }
      if (this.#flushed.get(key) !== encoded) changes.set(key, encoded);
    }
    return changes;
  }

  acceptFlush(changes: ReadonlyMap<string, string>): void {
    if (changes.size > 0) for (const [key, encoded] of changes) this.#flushed.set(key, encoded);
    if (this.#touched.size > 0) this.#touched.clear();
  }

  /** Undoes what a failed handler did to persisted keys since the last flush. */
  revertTouched(): void {
    for (const key of this.#touched) this.#restore(key, this.#flushed.get(key));
    this.#touched.clear();
  }

  /** A commit of these keys succeeded. */
  markCommitted(changes: ReadonlyMap<string, string>): void {
    for (const [key, encoded] of changes) this.#committed.set(key, encoded);
  }

  /**
   * A commit of these keys failed: back to the committed values. Keys a running handler
   * touched stay marked: that handler is failed too, and its own revert puts them back.
   */
  rollback(keys: Iterable<string>): void {
    for (const key of keys) {
      const committed = this.#committed.get(key);
      if (committed === undefined) this.#flushed.delete(key);
      else this.#flushed.set(key, committed);
      this.#restore(key, committed);
    }
  }

  #restore(key: string, encoded: string | undefined): void {
    this.#corrupt.delete(key);
    if (encoded === undefined) {
      this.#values[key] = this.#initial()[key];
      this.#undecoded.delete(key);
    } else {
      this.#undecoded.add(key);
    }
  }
}
