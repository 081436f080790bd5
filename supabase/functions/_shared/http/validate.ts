// zod at the edge: a failed parse is a 400 with the problems listed.
import type { z } from 'zod';
import { errors } from './errors.ts';

export function parseOr400<T extends z.ZodTypeAny>(schema: T, value: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw errors.invalidRequest(
      `Invalid ${what}.`,
      result.error.issues.map((issue) => ({ path: issue.path.join('.') || '(root)', message: issue.message })),
    );
  }
  return result.data;
}
