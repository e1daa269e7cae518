import { CATEGORIES, CATEGORY_LABELS, OPTION_LETTERS, type CurrentQuestion } from "../../../src/shared/protocol.js";

/** "Wine n of N · Question k of 5 · Category". */
export function QuestionHeader({ question }: { question: CurrentQuestion }) {
  return (
    <p className="question-header">
      Wine {question.roundIndex + 1} of {question.roundCount} · Question {question.questionIndex + 1} of {CATEGORIES.length} · {CATEGORY_LABELS[question.category]}
    </p>
  );
}

/** The position (0–3) of an option id: the server's ids are the letters A–D themselves. */
export function letterIndex(optionId: string): number {
  return Math.max(0, OPTION_LETTERS.indexOf(optionId as (typeof OPTION_LETTERS)[number]));
}
