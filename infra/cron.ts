// Quartz cron validation (the dialect Databricks job schedules use), written against the rules of
// org.quartz.CronExpression: 6 or 7 fields, `?` in exactly one of day-of-month / day-of-week,
// L / W / # only where Quartz accepts them. Returning a reason instead of throwing lets the config
// module put the key name and the expression in front of it.

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Value of names[0]; names map to consecutive numbers from here. */
  readonly namesStart?: number;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

const FIELDS: readonly FieldSpec[] = [
  { name: 'seconds', min: 0, max: 59 },
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesStart: 1 },
  { name: 'day-of-week', min: 1, max: 7, names: WEEKDAYS, namesStart: 1 },
  { name: 'year', min: 1970, max: 2099 },
];

const DAY_OF_MONTH = 3;
const DAY_OF_WEEK = 5;

class CronFieldError extends Error {}

function parseValue(token: string, spec: FieldSpec): number {
  if (/^\d+$/.test(token)) {
    const value = Number(token);
    if (value < spec.min || value > spec.max) {
      throw new CronFieldError(`${spec.name} value ${value} is out of range ${spec.min}-${spec.max}`);
    }
    return value;
  }
  const index = spec.names?.indexOf(token.toUpperCase()) ?? -1;
  if (index >= 0 && spec.namesStart !== undefined) return spec.namesStart + index;
  const allowedNames = spec.names ? ` or one of ${spec.names.join(', ')}` : '';
  throw new CronFieldError(`${spec.name} has invalid value "${token}" (expected ${spec.min}-${spec.max}${allowedNames})`);
}

/** A plain element: `*`, `n`, `a-b`, with an optional `/step`. */
function checkPlainElement(element: string, spec: FieldSpec): void {
  const [base, step, ...extra] = element.split('/');
  if (base === undefined || extra.length > 0) throw new CronFieldError(`${spec.name} has malformed element "${element}"`);
  if (step !== undefined) {
    if (!/^\d+$/.test(step)) throw new CronFieldError(`${spec.name} has invalid increment "${step}" in "${element}"`);
    const span = spec.max - spec.min + 1;
    const increment = Number(step);
    if (increment < 1 || increment >= span) {
      throw new CronFieldError(`${spec.name} increment ${increment} must be between 1 and ${span - 1}`);
    }
  }
  if (base === '*') return;
  if (base === '') throw new CronFieldError(`${spec.name} has malformed element "${element}"`);
  const bounds = base.split('-');
  if (bounds.length > 2 || bounds.some((b) => b === '')) throw new CronFieldError(`${spec.name} has malformed range "${base}"`);
  // Quartz accepts wrap-around ranges such as FRI-MON or 22-2, so bounds are not ordered-checked.
  for (const bound of bounds) parseValue(bound, spec);
}

function checkDayOfMonthSpecial(field: string): boolean {
  if (field === 'L' || field === 'LW') return true;
  const lastOffset = /^L-(\d+)$/.exec(field);
  if (lastOffset) {
    const offset = Number(lastOffset[1]);
    if (offset > 30) throw new CronFieldError(`day-of-month offset from last day must be 0-30, got ${offset}`);
    return true;
  }
  const nearestWeekday = /^(\d+)W$/.exec(field);
  if (nearestWeekday) {
    const day = Number(nearestWeekday[1]);
    if (day < 1 || day > 31) throw new CronFieldError(`day-of-month value ${day} in "${field}" is out of range 1-31`);
    return true;
  }
  if (/[LW]/i.test(field)) {
    throw new CronFieldError(`day-of-month "${field}": L and W may only appear as L, L-n, LW or nW, not inside lists or ranges`);
  }
  return false;
}

function checkDayOfWeekSpecial(field: string, spec: FieldSpec): boolean {
  if (field === 'L') return true;
  const lastOf = /^([A-Za-z]{3}|\d+)L$/.exec(field);
  if (lastOf?.[1] !== undefined) {
    parseValue(lastOf[1], spec);
    return true;
  }
  const nth = /^([A-Za-z]{3}|\d+)#(\d+)$/.exec(field);
  if (nth?.[1] !== undefined) {
    parseValue(nth[1], spec);
    const occurrence = Number(nth[2]);
    if (occurrence < 1 || occurrence > 5) throw new CronFieldError(`day-of-week occurrence after # must be 1-5, got ${occurrence}`);
    return true;
  }
  // Weekday names contain neither L nor #, so any left at this point is misplaced.
  if (field.includes('#') || field.includes('L')) {
    throw new CronFieldError(`day-of-week "${field}": L and # may only appear as L, nL or n#k, not inside lists or ranges`);
  }
  return false;
}

function checkField(field: string, index: number): void {
  const spec = FIELDS[index];
  if (spec === undefined) throw new CronFieldError(`unexpected field "${field}"`);
  if (field === '?') {
    if (index !== DAY_OF_MONTH && index !== DAY_OF_WEEK) {
      throw new CronFieldError(`"?" is only allowed in day-of-month or day-of-week, not in ${spec.name}`);
    }
    return;
  }
  if (field.includes('?')) throw new CronFieldError(`${spec.name} "${field}": "?" must stand alone`);
  if (index === DAY_OF_MONTH && checkDayOfMonthSpecial(field.toUpperCase())) return;
  if (index === DAY_OF_WEEK && checkDayOfWeekSpecial(field.toUpperCase(), spec)) return;
  if (/[LW#]/.test(field.toUpperCase().replace(/[A-Z]{3}/g, ''))) {
    throw new CronFieldError(`${spec.name} "${field}": L, W and # are only allowed in the day fields`);
  }
  for (const element of field.split(',')) checkPlainElement(element, spec);
}

/**
 * Returns `undefined` when `expression` is a valid Quartz cron expression, otherwise a one-line reason.
 */
export function quartzCronProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/);
  if (expression.trim() === '' || fields.length < 6 || fields.length > 7) {
    return `expected 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]), got ${expression.trim() === '' ? 0 : fields.length}`;
  }
  try {
    fields.forEach(checkField);
  } catch (error) {
    if (error instanceof CronFieldError) return error.message;
    throw error;
  }
  const dayOfMonth = fields[DAY_OF_MONTH];
  const dayOfWeek = fields[DAY_OF_WEEK];
  if (dayOfMonth === '?' && dayOfWeek === '?') {
    return 'day-of-month and day-of-week cannot both be "?"';
  }
  if (dayOfMonth !== '?' && dayOfWeek !== '?') {
    return 'day-of-month and day-of-week cannot both be specified; put "?" in one of them';
  }
  return undefined;
}
