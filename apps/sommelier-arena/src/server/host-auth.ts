/**
 * The room that serializes first uses of a host id: instance `<hostId>`, action `claim`
 * records the key's hash as the id's owner when the id is new, or checks the key against
 * the owner. Two first uses racing run one at a time in it. Nobody connects to it.
 */
import { CellarError, defineRoom } from "cellar";
import { authKey, hostKeyMatches, HOSTS } from "./host-index.js";

export const hostAuth = defineRoom({
  name: "host-auth",
  state: {},
  authenticate() {
    throw new CellarError("FORBIDDEN", "Nothing to connect to here");
  },
});

hostAuth.action("claim", async (ctx, { hostId, hostKey, hostKeyHash }: { hostId: string; hostKey: string; hostKeyHash: string }) => {
  const kv = ctx.kv(HOSTS);
  const stored = await kv.get(authKey(hostId));
  if (stored === null) {
    await kv.put(authKey(hostId), hostKeyHash);
    return true;
  }
  return hostKeyMatches(hostKey, stored);
});
