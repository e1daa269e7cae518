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
 * KV itself, which is eventually consistent (up to a minute, as on Cloudflare).
 */
export class WorkersKv implements KvStore {
  #flushing: Promise<boolean> | undefined;

  constructor(
    private readonly env: Record<string, unknown>,
    private readonly store: ObjectStore,
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
    const pending = this.store.outboxEntry(namespace, key);
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
    for (const row of this.store.outboxRange(namespace, prefix)) {
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

  async #send(): Promise<boolean> {
    for (;;) {
      const rows = this.store.outbox(FLUSH_BATCH);
      if (rows.length === 0) return true;
      for (const row of rows) {
        try {
          const kv = this.binding(row.namespace);
          if (row.record === null) await kv.delete(row.key);
          else {
            const options: KVNamespacePutOptions = {};
            if (row.record.expiresAt !== null) options.expiration = Math.floor(row.record.expiresAt / 1000);
            if (row.record.metadata !== null) options.metadata = JSON.parse(row.record.metadata);
            await kv.put(row.key, row.record.value, options);
          }
          this.store.outboxDone(row.id);
        } catch (error) {
          this.log.error({ err: error, namespace: row.namespace }, "a KV write could not be sent; it stays in the outbox and is retried");
          return false;
        }
      }
    }
  }
}
