import { z } from "zod";

/** User ids are names people type: no ":" (it separates storage key parts), no spaces. */
export const USER_ID = /^[A-Za-z0-9_-]{1,40}$/;

const userId = z.string().regex(USER_ID, "1-40 letters, digits, '-' or '_'");
const noteId = z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, "1-100 letters, digits, '.', '-' or '_'");
const amount = z.number().int().min(1).max(1_000_000);

export const messageSchema = z.object({ text: z.string().trim().min(1).max(2000) });

export const saveNoteSchema = z.object({ id: noteId, text: z.string().max(10_000) });
export const deleteNoteSchema = z.object({ id: noteId });
/** Page size of `getNotes`: one more entry is listed to tell whether a next page exists. */
export const MAX_NOTES_PAGE = 500;
export const getNotesSchema = z
  .object({ after: noteId.optional(), limit: z.number().int().min(1).max(MAX_NOTES_PAGE).default(100) })
  .default({ limit: 100 });

export const depositSchema = z.object({ amount });
export const transferSchema = z.object({ amount, recipient: userId });

export const setThemeSchema = z
  .object({
    mode: z.enum(["light", "dark"]).optional(),
    accent: z.string().regex(/^#[0-9a-f]{6}$/i, "a colour like #2563eb").optional(),
    font: z.object({ size: z.number().int().min(10).max(32) }).optional(),
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, "name at least one of mode, accent, font");
