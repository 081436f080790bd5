// pg_cron's schedule syntax, read as pg_cron reads it (its parser is Vixie
// cron's): five fields (minute hour day-of-month month day-of-week) with *,
// lists, ranges, steps on * and on ranges, month and weekday names; the
// @hourly/@daily/@midnight/@weekly/@monthly/@yearly/@annually shorthands;
// or 'N seconds' for N in 1..59 (pg_cron ≥ 1.5). Where pg_cron refuses, so
// does this: a step on a single number ('5/20') is an error there.

type CronFields = [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];

export type Schedule =
  | { kind: 'interval'; seconds: number }
  | { kind: 'cron'; fields: CronFields; anyDayOfMonth: boolean; anyDayOfWeek: boolean };

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

interface Field {
  min: number;
  max: number;
  /** Names for the values from min on, as pg_cron's (case-insensitive). */
  names?: string[];
}
const FIELDS: Field[] = [
  { min: 0, max: 59 }, // minute
  { min: 0, max: 23 }, // hour
  { min: 1, max: 31 }, // day of month
  { min: 1, max: 12, names: MONTHS },
  { min: 0, max: 7, names: WEEKDAYS }, // 0 and 7 are Sunday
];

// The shorthands as five fields; '@weekly' and '@monthly' restrict one day field only.
const SHORTHANDS: Record<string, string> = {
  hourly: '0 * * * *',
  daily: '0 0 * * *',
  midnight: '0 0 * * *',
  weekly: '0 0 * * 0',
  monthly: '0 0 1 * *',
  yearly: '0 0 1 1 *',
  annually: '0 0 1 1 *',
};

export function parseSchedule(text: string): Schedule {
  const trimmed = text.trim();
  const interval = /^(\d+)\s+seconds?$/i.exec(trimmed);
  if (interval) {
    const seconds = Number(interval[1]);
    if (seconds < 1 || seconds > 59) throw new Error(`invalid schedule "${text}": seconds must be 1..59`);
    return { kind: 'interval', seconds };
  }
  if (trimmed.startsWith('@')) {
    const name = trimmed.slice(1);
    if (name === 'reboot' || name === 'restart') {
      throw new Error(`invalid schedule "${text}": @${name} runs when pg_cron starts; the local scheduler has no such moment`);
    }
    const expanded = SHORTHANDS[name];
    if (!expanded) throw new Error(`invalid schedule "${text}": unknown shorthand (use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)`);
    return parseFields(expanded, text);
  }
  return parseFields(trimmed, text);
}

function parseFields(fieldsText: string, text: string): Schedule {
  const parts = fieldsText.split(/\s+/);
  if (parts.length !== 5) throw new Error(`invalid schedule "${text}": expected 5 fields or "N seconds"`);
  const fields = parts.map((part, index) => parseField(part, FIELDS[index]!, text)) as CronFields;
  if (fields[4].has(7) || fields[4].has(0)) {
    fields[4].add(0);
    fields[4].add(7);
  }
  // As in pg_cron, a day field counts as "any" when it starts with '*', step or not ('*/2').
  return { kind: 'cron', fields, anyDayOfMonth: parts[2]!.startsWith('*'), anyDayOfWeek: parts[4]!.startsWith('*') };
}

function parseField(part: string, field: Field, text: string): Set<number> {
  const { min, max } = field;
  const values = new Set<number>();
  const value = (token: string, item: string) => {
    const named = field.names?.indexOf(token.toLowerCase()) ?? -1;
    if (named >= 0) return named + min;
    if (/^\d+$/.test(token)) return Number(token);
    throw new Error(`invalid schedule "${text}": cannot read "${item}"`);
  };
  for (const item of part.split(',')) {
    const match = /^(\*|[A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?(?:\/(\d+))?$/.exec(item);
    if (!match) throw new Error(`invalid schedule "${text}": cannot read "${item}"`);
    const [, first, last, stepText] = match as unknown as [string, string, string | undefined, string | undefined];
    if (first !== '*' && last === undefined && stepText !== undefined) {
      throw new Error(`invalid schedule "${text}": "${item}" has a step without a range (pg_cron refuses it; write "${first}-${max}/${stepText}")`);
    }
    const step = stepText === undefined ? 1 : Number(stepText);
    const from = first === '*' ? min : value(first, item);
    const to = first === '*' ? max : last === undefined ? from : value(last, item);
    if (from < min || to > max || from > to || step < 1) {
      throw new Error(`invalid schedule "${text}": "${item}" is outside ${min}-${max}`);
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

/** True when a cron schedule fires in the minute that contains `date` (UTC, as pg_cron on Supabase). */
export function cronMatches(schedule: Extract<Schedule, { kind: 'cron' }>, date: Date): boolean {
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = schedule.fields;
  if (!minutes.has(date.getUTCMinutes()) || !hours.has(date.getUTCHours()) || !months.has(date.getUTCMonth() + 1)) {
    return false;
  }
  const domMatch = daysOfMonth.has(date.getUTCDate());
  const dowMatch = daysOfWeek.has(date.getUTCDay());
  // Classic cron: when both day fields are restricted, either may match.
  if (!schedule.anyDayOfMonth && !schedule.anyDayOfWeek) return domMatch || dowMatch;
  return domMatch && dowMatch;
}
