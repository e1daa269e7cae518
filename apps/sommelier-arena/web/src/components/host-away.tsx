import { useEffect, useState } from "react";
import type { Snapshot } from "../../../src/shared/protocol.js";

/** How long the host must stay away before guests are told (a host page reload is shorter). */
const SHOW_AFTER_MS = 3000;

export function HostAwayBanner({ snapshot }: { snapshot: Snapshot }) {
  const away = !snapshot.hostConnected && snapshot.phase !== "ended";
  const [shown, setShown] = useState(false);
  useEffect(() => {
    if (!away) return setShown(false);
    const timer = setTimeout(() => setShown(true), SHOW_AFTER_MS);
    return () => clearTimeout(timer);
  }, [away]);
  if (!shown) return null;
  return (
    <p className="banner banner-warning" role="status">
      The host has stepped away. The current question still closes on time; the game carries on when the host is back.
    </p>
  );
}
