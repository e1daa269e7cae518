import type { Problem } from "../../../src/shared/protocol.js";

/** The problems with one field (by exact path), shown under it. */
export function problemsAt(problems: readonly Problem[], field: string): Problem[] {
  return problems.filter((p) => p.field === field);
}

export function fieldId(field: string): string {
  return `f-${field.replace(/[^A-Za-z0-9]+/g, "-")}`;
}

export function FieldProblems({ problems, field }: { problems: readonly Problem[]; field: string }) {
  const mine = problemsAt(problems, field);
  if (mine.length === 0) return null;
  return (
    <span className="field-problem" id={`${fieldId(field)}-problem`} role="alert">
      {mine.map((p) => p.message).join(" ")}
    </span>
  );
}

/** Props that tie an input to its problems for assistive technology. */
export function problemProps(problems: readonly Problem[], field: string): { "aria-invalid"?: true; "aria-describedby"?: string } {
  return problemsAt(problems, field).length > 0 ? { "aria-invalid": true, "aria-describedby": `${fieldId(field)}-problem` } : {};
}
