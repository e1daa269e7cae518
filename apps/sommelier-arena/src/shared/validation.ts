/**
 * Validation of what hosts and participants type, shared by the server (which decides) and
 * the web app (which shows the same problems inline before sending). Plain functions, no
 * dependencies: they run in the browser too.
 */
import { CATEGORIES, CATEGORY_LABELS, LIMITS, type Problem, type SessionInput } from "./protocol.js";

/** Trims and normalizes (NFC) a piece of user text; collapses inner runs of whitespace. */
export function cleanText(value: string): string {
  return value.normalize("NFC").replace(/\s+/gu, " ").trim();
}

/** Length in characters as a person counts them (code points), not UTF-16 units. */
export function textLength(value: string): number {
  return [...value].length;
}

// Control characters (C0, DEL, C1) and the bidi overrides that could disguise a name.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

/** How pseudonyms are compared for uniqueness: case-insensitive, after cleaning. */
export function pseudonymKey(pseudonym: string): string {
  return cleanText(pseudonym).toLocaleLowerCase("en");
}

/** The cleaned pseudonym, or the problem with it. */
export function checkPseudonym(value: unknown): { ok: true; pseudonym: string } | { ok: false; message: string } {
  if (typeof value !== "string") return { ok: false, message: "A pseudonym is text" };
  const pseudonym = cleanText(value);
  if (pseudonym.length === 0) return { ok: false, message: `Choose a pseudonym (1 to ${LIMITS.pseudonymLength} characters)` };
  if (textLength(pseudonym) > LIMITS.pseudonymLength) {
    return { ok: false, message: `A pseudonym is at most ${LIMITS.pseudonymLength} characters (this one has ${textLength(pseudonym)})` };
  }
  if (FORBIDDEN.test(pseudonym)) return { ok: false, message: "A pseudonym cannot contain control characters" };
  return { ok: true, pseudonym };
}

const HOST_ID = /^[A-Za-z0-9][A-Za-z0-9-]{1,38}[A-Za-z0-9]$/;
const HOST_KEY = /^[A-Za-z0-9_-]{22,128}$/;

export function isHostId(value: unknown): value is string {
  return typeof value === "string" && HOST_ID.test(value);
}

export function isHostKey(value: unknown): value is string {
  return typeof value === "string" && HOST_KEY.test(value);
}

/**
 * Checks a session as the editor or `update_session` sends it. Returns the cleaned session
 * (texts trimmed) when it is valid, and every problem otherwise, each with the field's path
 * and a sentence saying what is wrong. `minTimerSeconds` lowers the timer's minimum (a
 * server option for tests and demos).
 */
export function validateSession(
  input: unknown,
  options: { minTimerSeconds?: number } = {},
): { ok: true; session: SessionInput } | { ok: false; problems: Problem[] } {
  const problems: Problem[] = [];
  const problem = (code: string, field: string, message: string) => problems.push({ code, field, message });
  if (!isRecord(input)) {
    problem("INVALID_SESSION", "", "A session is an object with title, timerSeconds and wines");
    return { ok: false, problems };
  }

  const title = typeof input.title === "string" ? cleanText(input.title) : "";
  if (typeof input.title !== "string" || title.length === 0) problem("INVALID_TITLE", "title", "Give the tasting a title");
  else if (textLength(title) > LIMITS.titleLength) problem("INVALID_TITLE", "title", `The title is at most ${LIMITS.titleLength} characters`);
  else if (FORBIDDEN.test(title)) problem("INVALID_TITLE", "title", "The title cannot contain control characters");

  const { max, default: fallback } = LIMITS.timerSeconds;
  const min = options.minTimerSeconds ?? LIMITS.timerSeconds.min;
  const timerSeconds = input.timerSeconds === undefined ? fallback : input.timerSeconds;
  if (typeof timerSeconds !== "number" || !Number.isInteger(timerSeconds) || timerSeconds < min || timerSeconds > max) {
    problem("INVALID_TIMER", "timerSeconds", `The timer is a whole number of seconds from ${min} to ${max} (got ${JSON.stringify(input.timerSeconds)})`);
  }

  const wines: SessionInput["wines"] = [];
  if (!Array.isArray(input.wines) || input.wines.length < LIMITS.wines.min || input.wines.length > LIMITS.wines.max) {
    const got = Array.isArray(input.wines) ? `${input.wines.length}` : "none";
    problem("INVALID_WINES", "wines", `A session has ${LIMITS.wines.min} to ${LIMITS.wines.max} wines (got ${got})`);
  } else {
    input.wines.forEach((wine, w) => {
      const at = `wines[${w}]`;
      if (!isRecord(wine)) {
        problem("INVALID_WINE", at, `Wine ${w + 1} is not an object with a name and questions`);
        return;
      }
      const name = checkText(wine.name, LIMITS.wineNameLength);
      if (name.error) problem("INVALID_WINE_NAME", `${at}.name`, `Wine ${w + 1}: ${name.error.replace("{what}", "the name")}`);
      const questions: SessionInput["wines"][number]["questions"] = [];
      if (!Array.isArray(wine.questions) || wine.questions.length !== CATEGORIES.length) {
        problem(
          "INVALID_QUESTIONS",
          `${at}.questions`,
          `Wine ${w + 1} needs exactly ${CATEGORIES.length} questions, one per category in this order: ${CATEGORIES.join(", ")}`,
        );
      } else {
        wine.questions.forEach((question, q) => {
          const qat = `${at}.questions[${q}]`;
          const category = CATEGORIES[q]!;
          const label = `Wine ${w + 1}, ${CATEGORY_LABELS[category].toLowerCase()}`;
          if (!isRecord(question)) {
            problem("INVALID_QUESTION", qat, `${label}: the question is not an object`);
            return;
          }
          if (question.category !== category) {
            problem(
              "INVALID_CATEGORY",
              `${qat}.category`,
              `Wine ${w + 1}, question ${q + 1} must be the "${category}" question (got ${JSON.stringify(question.category)}); the order is ${CATEGORIES.join(", ")}`,
            );
          }
          const correct = checkText(question.correctAnswer, LIMITS.answerLength);
          if (correct.error) problem("INVALID_ANSWER", `${qat}.correctAnswer`, `${label}: ${correct.error.replace("{what}", "the correct answer")}`);
          const distractors: string[] = [];
          if (!Array.isArray(question.distractors) || question.distractors.length !== 3) {
            problem("INVALID_DISTRACTORS", `${qat}.distractors`, `${label}: give exactly 3 wrong answers`);
          } else {
            question.distractors.forEach((d, i) => {
              const checked = checkText(d, LIMITS.answerLength);
              if (checked.error) problem("INVALID_ANSWER", `${qat}.distractors[${i}]`, `${label}: ${checked.error.replace("{what}", `wrong answer ${i + 1}`)}`);
              distractors.push(checked.value);
            });
            const seen = new Map<string, number>();
            [correct.value, ...distractors].forEach((text, i) => {
              if (text === "") return;
              const key = text.toLocaleLowerCase("en");
              const first = seen.get(key);
              if (first === undefined) {
                seen.set(key, i);
                return;
              }
              const field = `${qat}.distractors[${i - 1}]`;
              const clash = first === 0 ? "the correct answer" : `wrong answer ${first}`;
              problem("DUPLICATE_OPTION", field, `${label}: wrong answer ${i} is the same as ${clash} ("${text}"); the four options must differ`);
            });
          }
          questions.push({ category, correctAnswer: correct.value, distractors: distractors as [string, string, string] });
        });
      }
      wines.push({ name: name.value, questions });
    });
  }

  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, session: { title, timerSeconds: timerSeconds as number, wines } };
}

function checkText(value: unknown, max: number): { value: string; error?: string } {
  if (typeof value !== "string") return { value: "", error: "{what} is missing" };
  const text = cleanText(value);
  if (text.length === 0) return { value: text, error: "{what} is empty" };
  if (textLength(text) > max) return { value: text, error: `{what} is longer than ${max} characters` };
  if (FORBIDDEN.test(text)) return { value: text, error: "{what} contains control characters" };
  return { value: text };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
