import type { StandardSchemaV1 } from "@standard-schema/spec";
import { cellarError } from "./errors.js";

/** Any Standard Schema validator: zod, valibot, arktype… */
export type Schema<Output = unknown> = StandardSchemaV1<unknown, Output>;

/** Validates `value` against `schema`; throws `INVALID_PAYLOAD` naming each failing path. */
export async function validate<T>(schema: Schema<T>, value: unknown, event: string): Promise<T> {
  let result = schema["~standard"].validate(value);
  if (result instanceof Promise) result = await result;
  if (result.issues === undefined) return result.value;
  const details = result.issues.slice(0, 5).map((issue) => {
    const path = (issue.path ?? []).map((part) => (typeof part === "object" ? part.key : part)).join(".");
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  throw cellarError("INVALID_PAYLOAD", `Invalid payload for "${event}": ${details.join("; ")}`);
}
