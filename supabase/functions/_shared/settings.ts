// One reader for numeric settings from the environment: a missing, empty or
// non-numeric value takes the default; anything else is floored and clamped.
import type { EnvGetter } from './config.ts';

export function readInt(env: EnvGetter, name: string, fallback: number, min: number, max: number): number {
  const raw = env(name);
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  return Number.isFinite(value) ? Math.min(max, Math.max(min, Math.floor(value))) : fallback;
}
