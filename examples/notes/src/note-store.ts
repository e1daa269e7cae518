import type { Storage } from "cellar";

/** A note as clients receive it. */
export interface Note {
  id: string;
  text: string;
  updatedAt: number;
}

// One key per note, under the user's prefix, so listing a user's notes is one prefix scan
// in key order. User ids cannot contain ":", so one user's prefix never matches another's.
const prefixOf = (userId: string) => `note:${userId}:`;

export async function saveNote(storage: Storage, userId: string, id: string, text: string, now: number): Promise<Note> {
  const note: Note = { id, text, updatedAt: now };
  await storage.put(prefixOf(userId) + id, note);
  return note;
}

/** Resolves to whether the note existed. */
export function deleteNote(storage: Storage, userId: string, id: string): Promise<boolean> {
  return storage.delete(prefixOf(userId) + id);
}

/**
 * One page of a user's notes in id order, after the id `after`; `next` is the id to pass
 * as `after` for the following page, or null on the last one.
 */
export async function listNotes(storage: Storage, userId: string, limit: number, after?: string): Promise<{ notes: Note[]; next: string | null }> {
  const prefix = prefixOf(userId);
  // One more than asked, to know whether another page follows without a second query.
  const found = await storage.list<Note>({ prefix, limit: limit + 1, ...(after === undefined ? {} : { startAfter: prefix + after }) });
  const notes = [...found.values()].slice(0, limit);
  return { notes, next: found.size > limit ? notes[notes.length - 1]!.id : null };
}
