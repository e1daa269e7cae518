import { defineConnection } from "cellar";

export interface Theme {
  mode: "light" | "dark";
  accent: string;
  font: { size: number };
}

/** What the room keeps for each user, across all of that user's connections. */
export interface UserState {
  messageCount: number;
  /** Epoch ms of the user's last connect, disconnect or message; null before the first visit. */
  lastSeen: number | null;
  /** The user's display preferences, a nested object changed in place by `setTheme`. */
  theme: Theme;
  /** Whether one of the user's connections is open. Not persisted: see below. */
  online: boolean;
}

/**
 * Per-user state, keyed by the `userId` that `authenticate` returns: it comes back when the
 * user reconnects, from any tab, after hibernation and after a restart.
 *
 * `online` is deliberately not persisted: presence is a fact about this process's sockets,
 * and after a crash no `onDisconnect` runs, so a stored `true` would claim forever that the
 * user is still there. Not persisted, it starts `false` whenever the room is loaded.
 *
 * `shallow: false` turns on deep tracking: `setTheme` assigns `theme.font.size` inside the
 * object, and that nested change is saved like an assignment of `theme` would be.
 */
export const userState = defineConnection({
  state: (): UserState => ({
    messageCount: 0,
    lastSeen: null,
    theme: { mode: "light", accent: "#2563eb", font: { size: 16 } },
    online: false,
  }),
  persistedKeys: ["messageCount", "lastSeen", "theme"],
  persistOptions: { shallow: false },
});

/** A plain copy of the state, to emit (the state itself is a tracking proxy). */
export function profileOf(userId: string, state: UserState) {
  const { messageCount, lastSeen, theme, online } = state;
  return { userId, messageCount, lastSeen, theme: themeOf(theme), online };
}

export function themeOf(theme: Theme): Theme {
  return { mode: theme.mode, accent: theme.accent, font: { size: theme.font.size } };
}
