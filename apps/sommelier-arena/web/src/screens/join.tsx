/**
 * The join form (`/` and `/join/<code>`): a session code and a pseudonym. Joining opens the
 * room, sends `join_session`, keeps the rejoin token and hands the open client to the game
 * screen.
 */
import { useEffect, useRef, useState, type FormEvent } from "react";
import { CLOSE_CODES, type JoinSessionReply } from "../../../src/shared/protocol.js";
import { checkPseudonym } from "../../../src/shared/validation.js";
import { describeError } from "../api.js";
import { closeError, newClient, useHandoffs } from "../room.js";
import { currentNotice, Link, navigate } from "../router.js";
import { loadRejoin, saveRejoin } from "../storage.js";
import { suggestPseudonym } from "../suggestions.js";

const CODE = /^\d{4}$/;

interface Errors {
  code?: string;
  pseudonym?: string;
  form?: string;
}

/** Field errors for a refusal from the room. */
function errorsFor(code: string, message: string): Errors {
  if (code === "PSEUDONYM_TAKEN" || code === "INVALID_PSEUDONYM") return { pseudonym: message };
  if (code === "SESSION_NOT_FOUND" || code === "SESSION_LOCKED" || code === "SESSION_ENDED" || code === "SESSION_FULL" || code === "TOO_MANY_ATTEMPTS") return { code: message };
  return { form: message };
}

export function JoinScreen({ initialCode = "" }: { initialCode?: string }) {
  const handoffs = useHandoffs();
  const [code, setCode] = useState(initialCode);
  const [pseudonym, setPseudonym] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [pending, setPending] = useState(false);
  const [notice] = useState(currentNotice);
  // Read once: only this form's own join (which leaves the page) writes it.
  const [stored] = useState(loadRejoin);
  const pseudonymRef = useRef<HTMLInputElement>(null);
  const codeRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (initialCode) pseudonymRef.current?.focus();
  }, [initialCode]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const next: Errors = {};
    const trimmedCode = code.trim();
    if (!CODE.test(trimmedCode)) next.code = "Enter the 4-digit code shown on the TV.";
    const checked = checkPseudonym(pseudonym);
    if (!checked.ok) next.pseudonym = checked.message;
    setErrors(next);
    if (!checked.ok || next.code) {
      (next.code ? codeRef : pseudonymRef).current?.focus();
      return;
    }
    setPending(true);
    const client = newClient(trimmedCode);
    let closed: { code: number; reason: string } | undefined;
    // A refused connection (no such session, too many wrong codes) ends the attempt at once.
    const refused = new Promise<never>((_, reject) => {
      client.on("$close", (info: { code: number; reason: string; final: boolean }) => {
        if (!info.final && info.code !== CLOSE_CODES.TOO_MANY_ATTEMPTS) return;
        closed = info;
        reject(new Error(info.reason));
      });
    });
    refused.catch(() => {});
    try {
      const reply = await Promise.race([client.request<JoinSessionReply>("join_session", { pseudonym: checked.pseudonym }), refused]);
      saveRejoin({ rejoinToken: reply.rejoinToken, code: trimmedCode, pseudonym: reply.pseudonym });
      if (handoffs) handoffs.put({ code: trimmedCode, rejoinToken: reply.rejoinToken, client, snapshot: reply.snapshot });
      else client.close();
      navigate(`/play/${trimmedCode}`);
    } catch (error) {
      client.close();
      const failure = closed ? closeError(closed.code, closed.reason) : describeError(error);
      const found = errorsFor(failure.code, failure.message);
      setErrors(found);
      (found.pseudonym ? pseudonymRef : codeRef).current?.focus();
      setPending(false);
    }
  }

  return (
    <main className="page page-phone join" id="main">
      <header className="brand-header">
        <p className="brand">Sommelier Arena</p>
      </header>
      <h1 className="display">Join a tasting</h1>
      {notice && (
        <p className="banner banner-warning" role="alert">
          {notice}
        </p>
      )}
      {stored && (stored.code === code.trim() || !initialCode) && (
        <section className="card rejoin-offer" aria-label="Your tasting">
          <p>
            You are in tasting <strong>{stored.code}</strong> as <strong>{stored.pseudonym}</strong>.
          </p>
          <button type="button" className="button button-primary" onClick={() => navigate(`/play/${stored.code}`)}>
            Continue as {stored.pseudonym}
          </button>
        </section>
      )}
      <form className="form" onSubmit={submit} noValidate aria-describedby={errors.form ? "join-form-error" : undefined}>
        <div className="field">
          <label htmlFor="join-code">Session code</label>
          <input
            id="join-code"
            ref={codeRef}
            className="input input-code"
            inputMode="numeric"
            autoComplete="off"
            maxLength={4}
            placeholder="1234"
            value={code}
            onChange={(e) => setCode(e.target.value.replace(/\D/g, "").slice(0, 4))}
            aria-invalid={errors.code ? true : undefined}
            aria-describedby={errors.code ? "join-code-error" : undefined}
          />
          {errors.code && (
            <span className="field-problem" id="join-code-error" role="alert">
              {errors.code}
            </span>
          )}
        </div>
        <div className="field">
          <label htmlFor="join-pseudonym">Your name for the game</label>
          <div className="input-row">
            <input
              id="join-pseudonym"
              ref={pseudonymRef}
              className="input"
              autoComplete="nickname"
              maxLength={48}
              value={pseudonym}
              onChange={(e) => setPseudonym(e.target.value)}
              aria-invalid={errors.pseudonym ? true : undefined}
              aria-describedby={errors.pseudonym ? "join-pseudonym-error" : undefined}
            />
            <button type="button" className="button button-secondary" onClick={() => setPseudonym(suggestPseudonym(pseudonym))}>
              Suggest one
            </button>
          </div>
          {errors.pseudonym && (
            <span className="field-problem" id="join-pseudonym-error" role="alert">
              {errors.pseudonym}
            </span>
          )}
        </div>
        {errors.form && (
          <p className="field-problem" id="join-form-error" role="alert">
            {errors.form}
          </p>
        )}
        <button type="submit" className="button button-primary button-big" disabled={pending}>
          {pending ? "Joining…" : "Join"}
        </button>
      </form>
      <p className="host-link">
        Pouring the wine? <Link href="/host">Host a tasting</Link>
      </p>
    </main>
  );
}
