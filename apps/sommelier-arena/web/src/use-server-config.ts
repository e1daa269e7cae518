import { useEffect, useState } from "react";
import type { ServerConfig } from "../../src/shared/protocol.js";
import { cachedServerConfig, serverConfig } from "./api.js";

/**
 * The server's config for a screen: undefined while it loads or when the request failed
 * (callers then fall back to the shared defaults).
 * @example
 * const min = useServerConfig()?.minTimerSeconds ?? LIMITS.timerSeconds.min;
 */
export function useServerConfig(): ServerConfig | undefined {
  const [config, setConfig] = useState(cachedServerConfig);
  useEffect(() => {
    if (config) return;
    let live = true;
    serverConfig().then(
      (value) => live && setConfig(value),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [config]);
  return config;
}
