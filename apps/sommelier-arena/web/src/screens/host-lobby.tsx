import { useEffect, useState } from "react";
import QRCode from "qrcode";
import type { HostSnapshot } from "../../../src/shared/protocol.js";
import { joinLink, shareOrigin } from "../api.js";
import { useServerConfig } from "../use-server-config.js";
import { EndButton } from "./host-game.js";
import type { HostActions } from "./host-session.js";

function useQrCode(text: string): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    QRCode.toDataURL(text, { margin: 1, width: 480, color: { dark: "#1F1A17", light: "#FFFFFF" }, errorCorrectionLevel: "M" })
      .then((data) => live && setUrl(data))
      .catch(() => live && setUrl(null));
    return () => {
      live = false;
    };
  }, [text]);
  return url;
}

export function HostLobby({ snapshot: s, actions, onEdit }: { snapshot: HostSnapshot; actions: HostActions; onEdit: () => void }) {
  const config = useServerConfig();
  const { origin, unreachable } = shareOrigin(location, config?.lanOrigins);
  const link = joinLink(s.code, origin);
  const qr = useQrCode(link);
  const count = s.participants.length;
  return (
    <section className="lobby" aria-labelledby="lobby-heading">
      <div className="lobby-join">
        <h1 id="lobby-heading" className="lobby-heading">
          Join at <span className="lobby-link">{link}</span>
        </h1>
        {unreachable && (
          <p className="lobby-hint" data-testid="lan-hint">
            Guests' phones cannot open this address. Restart with <code>HOST=0.0.0.0 npm start</code>, then open this page at the computer's network address.
          </p>
        )}
        <p className="lobby-code-label">Session code</p>
        <p className="lobby-code" data-testid="session-code">
          {s.code}
        </p>
        {qr && <img className="lobby-qr" src={qr} width={440} height={440} alt={`QR code for the join link ${link}`} data-link={link} />}
      </div>
      <div className="lobby-people">
        <h2 className="lobby-count" aria-live="polite">
          {count === 0 ? "Waiting for guests…" : `${count} ${count === 1 ? "guest" : "guests"} here`}
        </h2>
        <ul className="chips chips-tv" aria-label="Guests">
          {s.participants.map((p) => (
            <li key={p.id} className={`chip${p.connected ? "" : " chip-away"}`}>
              {p.pseudonym}
            </li>
          ))}
        </ul>
        <p className="muted">
          {s.roundCount} {s.roundCount === 1 ? "wine" : "wines"} · {s.timerSeconds} s per question{s.locked ? " · locked: no new guests" : ""}
        </p>
        <div className="controls">
          <button type="button" className="button button-primary button-big" disabled={actions.busy !== null} onClick={() => void actions.run("host:start")}>
            {actions.busy === "host:start" ? "Starting…" : "Start tasting"}
          </button>
          <button type="button" className="button button-secondary" aria-pressed={s.locked} disabled={actions.busy !== null} onClick={() => void actions.run("host:lock", { locked: !s.locked })}>
            {s.locked ? "Unlock joining" : "Lock joining"}
          </button>
          <button type="button" className="button button-secondary" disabled={actions.busy !== null} onClick={onEdit}>
            Edit tasting
          </button>
          <EndButton actions={actions} />
        </div>
      </div>
    </section>
  );
}
