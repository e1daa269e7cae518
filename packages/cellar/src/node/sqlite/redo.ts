import { parse, stringify } from "devalue";
import { WriteSet } from "../../core/write-set.js";

/*
 * Internal: the text form of a write set, stored as a redo record in an instance's SQL
 * file (see sql-file.ts). devalue keeps the Maps and the binary KV values as they are.
 */

export function encodeWrites(writes: WriteSet): string {
  return stringify({
    storage: writes.storage,
    clearStorage: writes.clearStorage,
    state: writes.state,
    dropScopes: writes.dropScopes,
    alarms: writes.alarms,
    kv: writes.kv,
    log: writes.log,
    sessions: writes.sessions,
  });
}

export function decodeWrites(text: string): WriteSet {
  const data = parse(text) as {
    storage: WriteSet["storage"];
    clearStorage: boolean;
    state: WriteSet["state"];
    dropScopes: WriteSet["dropScopes"];
    alarms: WriteSet["alarms"];
    kv: WriteSet["kv"];
    log?: WriteSet["log"];
    sessions?: WriteSet["sessions"];
  };
  const writes = new WriteSet();
  writes.clearStorage = data.clearStorage;
  for (const [key, value] of data.storage) writes.putStorage(key, value);
  for (const scope of data.dropScopes) writes.dropScope(scope);
  for (const [scope, entries] of data.state) for (const [key, value] of entries) writes.setState(scope, key, value);
  for (const [id, alarm] of data.alarms) writes.putAlarm(id, alarm);
  for (const [namespace, entries] of data.kv) for (const [key, record] of entries) writes.setKv(namespace, key, record);
  for (const record of data.log ?? []) writes.pushLog(record);
  for (const [id, write] of data.sessions ?? []) writes.setSession(id, write);
  return writes;
}
