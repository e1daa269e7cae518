import { CATEGORY_LABELS, type CurrentQuestion } from "../../../src/shared/protocol.js";

/** "Wine n of N · Question k of 5 · Category". */
export function QuestionHeader({ question }: { question: CurrentQuestion }) {
  return (
    <p className="question-header">
      Wine {question.roundIndex + 1} of {question.roundCount} · Question {question.questionIndex + 1} of 5 · {CATEGORY_LABELS[question.category]}
    </p>
  );
}

/** The letter (A–D) of an option id, which the server already uses as ids. */
export function letterIndex(optionId: string): number {
  return Math.max(0, "ABCD".indexOf(optionId));
}
