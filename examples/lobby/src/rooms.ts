import { games } from "./games.js";
import { lobby } from "./lobby.js";

export { games, lobby };
/** Every room kind of the example: `lobby` (chat rooms) and `games` (game rooms). */
export const rooms = [lobby, games];
