// pg_cron's schedule syntax: a five-field cron expression (minute hour
// day-of-month month day-of-week, with *, lists, ranges and steps) or
// 'N seconds' for N in 1..59.

type CronFields = [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];

export type Schedule =
  | { kind: 'interval'; seconds: number }
  | { kind: 'cron'; fields: CronFields; anyDayOfMonth: boolean; anyDayOfWeek: boolean };

const RANGES: Array<[number, number]> = [
  [0, 59], // minute
  [0, 23], // hour
  [1, 31], // day of month
  [1, 12], // month
  [0, 7], // day of week (0 and 7 are Sunday)
];

export function parseSchedule(text: string): Schedule {
  const trimmed = text.trim();
  const interval = /^(\d+)\s+seconds?$/i.exec(trimmed);
  if (interval) {
    const seconds = Number(interval[1]);
    if (seconds < 1 || seconds > 59) throw new Error(`invalid schedule "${text}": seconds must be 1..59`);
    return { kind: 'interval', seconds };
  }
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5) throw new Error(`invalid schedule "${text}": expected 5 fields or "N seconds"`);
  const fields = parts.map((part, index) => parseField(part, RANGES[index]!, text)) as CronFields;
  if (fields[4].has(7)) fields[4].add(0);
  return { kind: 'cron', fields, anyDayOfMonth: parts[2] === '*', anyDayOfWeek: parts[4] === '*' };
}

function parseField(part: string, [min, max]: [number, number], text: string): Set<number> {
  const values = new Set<number>();
  for (const item of part.split(',')) {
    const match = /^(\*|\d+)(?:-(\d+))?(?:\/(\d+))?$/.exec(item);
    if (!match) throw new Error(`invalid schedule "${text}": cannot read "${item}"`);
    const step = match[3] ? Number(match[3]) : 1;
    const from = match[1] === '*' ? min : Number(match[1]);
    const to = match[1] === '*' ? max : match[2] ? Number(match[2]) : match[3] ? max : from;
    if (from < min || to > max || from > to || step < 1) {
      throw new Error(`invalid schedule "${text}": "${item}" is outside ${min}-${max}`);
    }
    for (let value = from; value <= to; value += step) values.add(value);
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
