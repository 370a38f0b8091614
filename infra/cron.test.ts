import { describe, expect, it } from 'vitest';
import { quartzCronProblem } from './cron';

describe('quartzCronProblem', () => {
  it.each([
    '0 0 2 ? * MON', // the seed's weekly retraining slot
    '0 0 3 * * ?',
    '0 30 4 * * ?',
    '0 0/15 * * * ?',
    '*/10 * * * * ?',
    '0 0 12 ? * MON-FRI',
    '0 0 12 ? * fri-mon', // names are case-insensitive; ranges may wrap
    '0 15 10 L * ?',
    '0 15 10 L-3 * ?',
    '0 15 10 LW * ?',
    '0 15 10 15W * ?',
    '0 15 10 ? * 6L',
    '0 15 10 ? * FRIL',
    '0 15 10 ? * L',
    '0 15 10 ? * 6#3',
    '0 15 10 ? * MON#1',
    '0 0 9 1,15 JAN,JUL ?',
    '0 0 9 1 1-12/3 ? 2026',
    '0 0 9 1 * ? 2025-2030',
    '0 5-55/10 8-18 ? * 2-6',
  ])('accepts %s', (expression) => {
    expect(quartzCronProblem(expression)).toBeUndefined();
  });

  it.each([
    ['0 0 2 * * MON', 'day-of-month and day-of-week cannot both be specified; put "?" in one of them'],
    ['0 0 2 ? * ?', 'day-of-month and day-of-week cannot both be "?"'],
    ['0 2 * * 1', 'expected 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]), got 5'],
    ['', 'expected 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]), got 0'],
    ['0 0 2 ? * MON 2026 extra', 'expected 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]), got 8'],
    ['60 0 2 ? * MON', 'seconds value 60 is out of range 0-59'],
    ['0 0 24 ? * MON', 'hours value 24 is out of range 0-23'],
    ['0 0 2 32 * ?', 'day-of-month value 32 is out of range 1-31'],
    ['0 0 2 ? 13 MON', 'month value 13 is out of range 1-12'],
    ['0 0 2 ? * 8', 'day-of-week value 8 is out of range 1-7'],
    ['0 0 2 ? * MONDAY', 'day-of-week has invalid value "MONDAY" (expected 1-7 or one of SUN, MON, TUE, WED, THU, FRI, SAT)'],
    ['0 0 2 ? FOO MON', 'month has invalid value "FOO" (expected 1-12 or one of JAN, FEB, MAR, APR, MAY, JUN, JUL, AUG, SEP, OCT, NOV, DEC)'],
    ['? 0 2 * * MON', '"?" is only allowed in day-of-month or day-of-week, not in seconds'],
    ['0 0/0 * * * ?', 'minutes increment 0 must be between 1 and 59'],
    ['0 0/60 * * * ?', 'minutes increment 60 must be between 1 and 59'],
    ['0 0 2 ? * 6#6', 'day-of-week occurrence after # must be 1-5, got 6'],
    ['0 0 2 1,L * ?', 'day-of-month "1,L": L and W may only appear as L, L-n, LW or nW, not inside lists or ranges'],
    ['0 0 2 ? * MON,6#2', 'day-of-week "MON,6#2": L and # may only appear as L, nL or n#k, not inside lists or ranges'],
    ['0 0 2 ? * MON 1969', 'year value 1969 is out of range 1970-2099'],
    ['0 0 L ? * MON', 'hours "L": L, W and # are only allowed in the day fields'],
    ['0 0 2- ? * MON', 'hours has malformed range "2-"'],
    ['0 0 2 ? * MON?', 'day-of-week "MON?": "?" must stand alone'],
    ['0 0 2 L-31 * ?', 'day-of-month offset from last day must be 0-30, got 31'],
  ])('rejects %j: %s', (expression, reason) => {
    expect(quartzCronProblem(expression)).toBe(reason);
  });
});
