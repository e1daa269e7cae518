/**
 * The session editor: title, timer, 1–12 wines of five questions each, with suggestions,
 * auto-filled distractors, and the server's own validation shown inline. `/host/new`
 * creates a tasting with it; the host's lobby reuses it to change one before the start.
 */
import { useId, useState, type FormEvent } from "react";
import { CATEGORIES, CATEGORY_LABELS, LIMITS, type Category, type Problem, type QuestionInput, type SessionInput, type WineInput } from "../../../src/shared/protocol.js";
import { validateSession } from "../../../src/shared/validation.js";
import { createSession, describeError, RequestError } from "../api.js";
import { FieldProblems, fieldId, problemProps, problemsAt } from "../components/field.js";
import { Link, navigate } from "../router.js";
import { answerList, autoFill } from "../suggestions.js";
import { useServerConfig } from "../use-server-config.js";

function emptyWine(): WineInput {
  return { name: "", questions: CATEGORIES.map((category): QuestionInput => ({ category, correctAnswer: "", distractors: ["", "", ""] })) };
}

function fillWine(wine: WineInput, otherNames: string[]): WineInput {
  return {
    ...wine,
    questions: wine.questions.map((q) => ({ ...q, distractors: autoFill(q.category, q.correctAnswer, q.distractors, otherNames) })),
  };
}

/** `/host/new`: saving creates the tasting and opens its lobby. */
export function EditorScreen() {
  return <SessionEditor heading="New tasting" submitLabels={["Create tasting", "Creating…"]} onSave={async (session) => navigate(`/host/${await createSession(session)}`)} />;
}

export interface SessionEditorProps {
  heading: string;
  /** The tasting to change; without it the editor starts with one empty wine. */
  initial?: SessionInput;
  /** The submit button's label, then its label while saving. */
  submitLabels: readonly [idle: string, pending: string];
  /**
   * Saves a session that passed `validateSession`. A rejection is shown on the form: by
   * field when it carries `problems` (a `RequestError`), else its code's message.
   */
  onSave: (session: SessionInput) => Promise<void>;
  /** Adds a Cancel button. */
  onCancel?: () => void;
}

/**
 * @example
 * <SessionEditor heading="Edit tasting" initial={snapshot} submitLabels={["Save changes", "Saving…"]} onSave={send} onCancel={close} />
 */
export function SessionEditor({ heading, initial, submitLabels, onSave, onCancel }: SessionEditorProps) {
  const [draft, setDraft] = useState<SessionInput>(() =>
    initial ? { title: initial.title, timerSeconds: initial.timerSeconds, wines: initial.wines } : { title: "", timerSeconds: LIMITS.timerSeconds.default, wines: [emptyWine()] },
  );
  // A lone wine starts open; several start folded so the list reads as a summary.
  const [open, setOpen] = useState<boolean[]>(() => draft.wines.map(() => draft.wines.length === 1));
  const [problems, setProblems] = useState<Problem[]>([]);
  const [checked, setChecked] = useState(false);
  const [pending, setPending] = useState(false);
  const [formError, setFormError] = useState<string | null>(null);
  // The server may accept shorter timers than the shared default (demos, tests): check against its own.
  const minTimerSeconds = useServerConfig()?.minTimerSeconds ?? LIMITS.timerSeconds.min;

  /** Applies a change and, once the host tried to create, re-checks as they type. */
  function update(next: SessionInput) {
    setDraft(next);
    if (checked) {
      const result = validateSession(next, { minTimerSeconds });
      setProblems(result.ok ? [] : result.problems);
    }
  }

  const setWine = (index: number, wine: WineInput) => update({ ...draft, wines: draft.wines.map((w, i) => (i === index ? wine : w)) });
  const otherNames = (index: number) => draft.wines.filter((_, i) => i !== index).map((w) => w.name.trim()).filter(Boolean);

  function addWine() {
    if (draft.wines.length >= LIMITS.wines.max) return;
    update({ ...draft, wines: [...draft.wines, emptyWine()] });
    setOpen([...open.map(() => false), true]);
  }

  function removeWine(index: number) {
    if (draft.wines.length <= LIMITS.wines.min) return;
    update({ ...draft, wines: draft.wines.filter((_, i) => i !== index) });
    setOpen(open.filter((_, i) => i !== index));
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setChecked(true);
    setFormError(null);
    const result = validateSession(draft, { minTimerSeconds });
    if (!result.ok) return showProblems(result.problems);
    setProblems([]);
    setPending(true);
    try {
      await onSave(result.session);
    } catch (error) {
      if (error instanceof RequestError && error.problems && error.problems.length > 0) return showProblems(error.problems);
      setFormError(describeError(error).message);
    } finally {
      setPending(false);
    }
  }

  function showProblems(found: Problem[]) {
    setProblems(found);
    // Open every wine with a problem and move focus to the first field that has one.
    setOpen(draft.wines.map((_, i) => open[i] === true || found.some((p) => p.field.startsWith(`wines[${i}]`))));
    requestAnimationFrame(() => {
      const first = found[0];
      if (first) document.getElementById(fieldId(first.field))?.focus();
    });
  }

  return (
    <main className="page page-host editor" id="main">
      <header className="host-header">
        <p className="brand">Sommelier Arena</p>
        <Link href="/host">Your tastings</Link>
      </header>
      <h1 className="display">{heading}</h1>
      <form onSubmit={submit} noValidate className="form">
        {problems.length > 0 && (
          <div className="banner banner-error" role="alert">
            {problems.length === 1 ? "One thing to fix" : `${problems.length} things to fix`} — see the marked fields below.
          </div>
        )}
        <div className="field">
          <label htmlFor={fieldId("title")}>Title</label>
          <input id={fieldId("title")} className="input" value={draft.title} maxLength={LIMITS.titleLength + 20} placeholder="Friday night reds" onChange={(e) => update({ ...draft, title: e.target.value })} {...problemProps(problems, "title")} />
          <FieldProblems problems={problems} field="title" />
        </div>
        <div className="field">
          <label htmlFor={fieldId("timerSeconds")}>
            Time per question: <output htmlFor={fieldId("timerSeconds")}>{draft.timerSeconds} s</output>
          </label>
          <input
            id={fieldId("timerSeconds")}
            type="range"
            className="range"
            min={minTimerSeconds}
            max={LIMITS.timerSeconds.max}
            step={LIMITS.timerSeconds.step}
            value={draft.timerSeconds}
            aria-valuetext={`${draft.timerSeconds} seconds`}
            onChange={(e) => update({ ...draft, timerSeconds: Number(e.target.value) })}
            {...problemProps(problems, "timerSeconds")}
          />
          <FieldProblems problems={problems} field="timerSeconds" />
        </div>
        <h2 className="title">
          Wines ({draft.wines.length} of at most {LIMITS.wines.max})
        </h2>
        <FieldProblems problems={problems} field="wines" />
        {draft.wines.map((wine, index) => (
          <WineSection
            key={index}
            index={index}
            wine={wine}
            open={open[index] ?? false}
            problems={problems}
            otherNames={otherNames(index)}
            canRemove={draft.wines.length > LIMITS.wines.min}
            onToggle={(value) => setOpen(draft.wines.map((_, i) => (i === index ? value : (open[i] ?? false))))}
            onChange={(next) => setWine(index, next)}
            onRemove={() => removeWine(index)}
          />
        ))}
        <div className="controls">
          <button type="button" className="button button-secondary" onClick={addWine} disabled={draft.wines.length >= LIMITS.wines.max}>
            Add a wine
          </button>
        </div>
        {formError && (
          <p className="banner banner-error" role="alert">
            {formError}
          </p>
        )}
        <div className="controls controls-end">
          {onCancel && (
            <button type="button" className="button button-quiet button-big" onClick={onCancel} disabled={pending}>
              Cancel
            </button>
          )}
          <button type="submit" className="button button-primary button-big" disabled={pending}>
            {pending ? submitLabels[1] : submitLabels[0]}
          </button>
        </div>
      </form>
    </main>
  );
}

interface WineProps {
  index: number;
  wine: WineInput;
  open: boolean;
  problems: Problem[];
  otherNames: string[];
  canRemove: boolean;
  onToggle: (open: boolean) => void;
  onChange: (wine: WineInput) => void;
  onRemove: () => void;
}

function WineSection({ index, wine, open, problems, otherNames, canRemove, onToggle, onChange, onRemove }: WineProps) {
  const at = `wines[${index}]`;
  const label = `Wine ${index + 1}`;
  const count = problems.filter((p) => p.field === at || p.field.startsWith(`${at}.`)).length;

  function setName(name: string) {
    // The wine's name is usually the answer to its "which wine" question: keep them in step.
    const questions = wine.questions.map((q) => (q.category === "wine_name" && (q.correctAnswer === "" || q.correctAnswer === wine.name) ? { ...q, correctAnswer: name } : q));
    onChange({ name, questions });
  }

  const setQuestion = (q: number, question: QuestionInput) => onChange({ ...wine, questions: wine.questions.map((x, i) => (i === q ? question : x)) });

  return (
    <details className="card wine" open={open} onToggle={(e) => e.currentTarget.open !== open && onToggle(e.currentTarget.open)}>
      <summary className="wine-summary">
        <span className="wine-summary-title">
          {label}
          {wine.name.trim() ? ` — ${wine.name.trim()}` : ""}
        </span>
        {count > 0 && <span className="badge-problem">{count === 1 ? "1 problem" : `${count} problems`}</span>}
      </summary>
      <div className="wine-body">
        <div className="field">
          <label htmlFor={fieldId(`${at}.name`)}>{label}: name</label>
          <input id={fieldId(`${at}.name`)} className="input" value={wine.name} placeholder="Château Example 2015" onChange={(e) => setName(e.target.value)} {...problemProps(problems, `${at}.name`)} />
          <FieldProblems problems={problems} field={`${at}.name`} />
        </div>
        <FieldProblems problems={problems} field={at} />
        <FieldProblems problems={problems} field={`${at}.questions`} />
        {wine.questions.map((question, q) => (
          <QuestionRow key={question.category + q} at={`${at}.questions[${q}]`} wineLabel={label} question={question} problems={problems} otherNames={otherNames} onChange={(next) => setQuestion(q, next)} />
        ))}
        <div className="controls">
          <button type="button" className="button button-secondary" onClick={() => onChange(fillWine(wine, otherNames))}>
            Auto-fill all wrong answers of {label}
          </button>
          {canRemove && (
            <button type="button" className="button button-quiet" onClick={onRemove}>
              Remove {label}
            </button>
          )}
        </div>
      </div>
    </details>
  );
}

interface QuestionProps {
  at: string;
  wineLabel: string;
  question: QuestionInput;
  problems: Problem[];
  otherNames: string[];
  onChange: (question: QuestionInput) => void;
}

function QuestionRow({ at, wineLabel, question, problems, otherNames, onChange }: QuestionProps) {
  const listId = useId();
  const category: Category = question.category;
  const name = CATEGORY_LABELS[category];
  const setDistractor = (i: number, value: string) => {
    const distractors = [...question.distractors] as [string, string, string];
    distractors[i] = value;
    onChange({ ...question, distractors });
  };
  const rowProblems = [...problemsAt(problems, at), ...problemsAt(problems, `${at}.category`), ...problemsAt(problems, `${at}.distractors`)];
  return (
    <fieldset className="question-row">
      <legend>{name}</legend>
      <datalist id={listId}>
        {answerList(category).map((item) => (
          <option key={item} value={item} />
        ))}
      </datalist>
      <div className="question-fields">
        <div className="field field-correct">
          <label htmlFor={fieldId(`${at}.correctAnswer`)}>Correct answer</label>
          <input
            id={fieldId(`${at}.correctAnswer`)}
            className="input"
            list={listId}
            value={question.correctAnswer}
            aria-label={`${wineLabel} ${name.toLowerCase()}: correct answer`}
            onChange={(e) => onChange({ ...question, correctAnswer: e.target.value })}
            {...problemProps(problems, `${at}.correctAnswer`)}
          />
          <FieldProblems problems={problems} field={`${at}.correctAnswer`} />
        </div>
        {question.distractors.map((value, i) => {
          const field = `${at}.distractors[${i}]`;
          return (
            <div className="field" key={i}>
              <label htmlFor={fieldId(field)}>Wrong answer {i + 1}</label>
              <input
                id={fieldId(field)}
                className="input"
                list={listId}
                value={value}
                aria-label={`${wineLabel} ${name.toLowerCase()}: wrong answer ${i + 1}`}
                onChange={(e) => setDistractor(i, e.target.value)}
                {...problemProps(problems, field)}
              />
              <FieldProblems problems={problems} field={field} />
            </div>
          );
        })}
        <button
          type="button"
          className="button button-secondary autofill"
          aria-label={`Auto-fill wrong answers: ${wineLabel} ${name.toLowerCase()}`}
          onClick={() => onChange({ ...question, distractors: autoFill(category, question.correctAnswer, question.distractors, otherNames) })}
        >
          Auto-fill
        </button>
      </div>
      {rowProblems.length > 0 && (
        <p className="field-problem" role="alert">
          {rowProblems.map((p) => p.message).join(" ")}
        </p>
      )}
    </fieldset>
  );
}
