// Ids that reach SQL or S3 keys are validated here first.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

export function assertUuid(value: unknown, what: string): string {
  if (!isUuid(value)) throw new Error(`${what} is not a UUID`);
  return value.toLowerCase();
}
