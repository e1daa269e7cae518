import { CellarError } from "cellar";
import { z } from "zod";

/*
 * The scene the host owns: who is on the table, in which order they act, and which scene
 * (map, location) is showing. The server keeps the authoritative copy with a version that
 * goes up by one with every accepted update.
 */

const id = z.string().trim().min(1).max(64);

export const characterSchema = z.strictObject({
  id,
  name: z.string().trim().min(1).max(80),
  hp: z.number().int().min(-9_999).max(9_999),
  maxHp: z.number().int().min(0).max(9_999),
  conditions: z.array(z.string().trim().min(1).max(40)).max(10).default([]),
});

// At most ~60 KiB encoded: a scene always fits in one storage value (128 KiB) and one frame.
const characters = z.array(characterSchema).max(100);
/** Character ids, first to act first. */
const initiative = z.array(id).max(100);
const activeSceneId = id.nullable();

/**
 * `scene:update`: the version the host's copy is based on, and the parts it replaces (any of
 * them, at least one). A typo in a field name is an error rather than a silent no-op.
 */
export const sceneUpdateSchema = z
  .strictObject({
    baseVersion: z.number().int().min(0),
    characters: characters.optional(),
    initiative: initiative.optional(),
    activeSceneId: activeSceneId.optional(),
  })
  .refine((u) => u.characters !== undefined || u.initiative !== undefined || u.activeSceneId !== undefined, {
    message: "an update changes at least one of characters, initiative, activeSceneId",
  });

export type Character = z.output<typeof characterSchema>;
export type SceneUpdate = z.output<typeof sceneUpdateSchema>;

export interface Scene {
  characters: Character[];
  initiative: string[];
  activeSceneId: string | null;
}

/** The scene with its version, as stored and as sent to clients. */
export interface VersionedScene {
  version: number;
  scene: Scene;
}

export const EMPTY_SCENE: Scene = { characters: [], initiative: [], activeSceneId: null };

/**
 * The scene after `update`, or `INVALID_SCENE` when the result would not hold together:
 * character ids are unique, and initiative lists existing characters, each once.
 */
export function applyUpdate(scene: Scene, update: SceneUpdate): Scene {
  const next: Scene = {
    characters: update.characters ?? scene.characters,
    initiative: update.initiative ?? scene.initiative,
    activeSceneId: update.activeSceneId === undefined ? scene.activeSceneId : update.activeSceneId,
  };
  const ids = new Set<string>();
  for (const c of next.characters) {
    if (ids.has(c.id)) throw invalid(`two characters have the id "${c.id}"`);
    ids.add(c.id);
  }
  const seen = new Set<string>();
  for (const entry of next.initiative) {
    if (!ids.has(entry)) throw invalid(`initiative names "${entry}", which is not a character of the scene`);
    if (seen.has(entry)) throw invalid(`initiative names "${entry}" twice`);
    seen.add(entry);
  }
  return next;
}

function invalid(message: string): CellarError {
  return new CellarError("INVALID_SCENE", `Scene not updated: ${message}`);
}
