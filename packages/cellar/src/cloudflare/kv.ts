import { compareKeys } from "../core/limits.js";
import type { KvStore, Logger } from "../core/ports.js";
import type { KvRecord } from "../core/write-set.js";
import type { ObjectStore } from "./object-store.js";

/** Outbox rows sent to Workers KV per round. */
const FLUSH_BATCH = 100;

/**
 * Internal: KV namespaces on Workers KV bindings (the binding named like the namespace).
 * Workers KV cannot join a Durable Object's transaction, so a handler's KV writes commit
 * into the object's outbox with its other writes, and are sent to KV right after; until KV
 * has taken a write, reads from this object see the outbox. Other objects and Workers read
 * KV itself, which is eventually consistent (up to a minute, as on Cloudflare). Without a
 * store (in the Worker, outside any room) there is no outbox: writes go to KV at once.
 */
export class WorkersKv implements KvStore {
  #flushing: Promise<boolean> | undefined;

  constructor(
    private readonly env: Record<string, unknown>,
    private readonly store: ObjectStore | undefined,
    private readonly log: Logger,
  ) {}

  binding(namespace: string): KVNamespace {
    const binding = this.env[namespace] as KVNamespace | undefined;
    if (!binding || typeof binding.get !== "function") {
      throw new Error(`KV namespace "${namespace}" has no binding: add { "binding": "${namespace}", "id": "…" } to kv_namespaces in wrangler.jsonc`);
    }
    return binding;
  }

  async get(namespace: string, key: string): Promise<KvRecord | undefined> {
    const pending = this.store?.outboxEntry(namespace, key);
    if (pending) return pending.record ?? undefined;
    const { value, metadata } = await this.binding(namespace).getWithMetadata(key, "arrayBuffer");
    if (value === null) return undefined;
    return { value: new Uint8Array(value), expiresAt: null, metadata: metadata === null ? null : JSON.stringify(metadata) };
  }

  async list(namespace: string, prefix: string, after: string | undefined, limit: number): Promise<Array<[string, KvRecord]>> {
    const found = new Map<string, KvRecord>();
    // Workers KV pages by cursor, not by key: pages are read until `limit` keys after `after`.
    let cursor: string | undefined;
    for (;;) {
      const page = await this.binding(namespace).list({ prefix, cursor, limit: 1000 });
      for (const key of page.keys) {
        if (after !== undefined && compareKeys(key.name, after) <= 0) continue;
        found.set(key.name, {
          value: "",
          expiresAt: key.expiration === undefined ? null : key.expiration * 1000,
          metadata: key.metadata === undefined ? null : JSON.stringify(key.metadata),
        });
      }
      if (page.list_complete || found.size >= limit) break;
      cursor = page.cursor;
    }
    for (const row of this.store?.outboxRange(namespace, prefix) ?? []) {
      if (after !== undefined && compareKeys(row.key, after) <= 0) continue;
      if (row.record) found.set(row.key, row.record);
      else found.delete(row.key);
    }
    return [...found].sort(([a], [b]) => compareKeys(a, b)).slice(0, limit);
  }

  /**
   * Sends the outbox to KV, oldest first; true once it is empty. One flush at a time, so
   * writes to a key reach KV in the order they committed.
   */
  flush(): Promise<boolean> {
    const running = this.#flushing;
    const next = (async () => {
      if (running) await running;
      return this.#send();
    })();
    this.#flushing = next;
    return next;
  }

  /** Writes one entry to KV now (null: deletes it). */
  async write(namespace: string, key: string, record: KvRecord | null): Promise<void> {
    const kv = this.binding(namespace);
    // KV refuses expirations less than 60 s ahead: one that came due while it waited in the
    // outbox is deleted instead, one about to is kept the minute KV allows.
    if (record === null || (record.expiresAt !== null && record.expiresAt <= Date.now())) return kv.delete(key);
    const options: KVNamespacePutOptions = {};
    if (record.expiresAt !== null) options.expiration = Math.max(Math.floor(record.expiresAt / 1000), Math.ceil(Date.now() / 1000) + 60);
    if (record.metadata !== null) options.metadata = JSON.parse(record.metadata);
    await kv.put(key, record.value, options);
  }

  async #send(): Promise<boolean> {
    const store = this.store;
    if (!store) return true;
    for (;;) {
      const rows = store.outbox(FLUSH_BATCH);
      if (rows.length === 0) return true;
      for (const row of rows) {
        try {
          await this.write(row.namespace, row.key, row.record);
          store.outboxDone(row.id);
        } catch (error) {
          this.log.error({ err: error, namespace: row.namespace }, "a KV write could not be sent; it stays in the outbox and is retried");
          return false;
        }
      }
    }
  }
}
