// Pure pieces of the bench's measurement: median, min-max and ratios; the alternating run
// order; parsing GNU time's -o file (including a failed command's extra line); and the line
// of a failed command's stderr that the results keep.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { failureLine } from '../../bench/failure-text.js';
import { parseTimeOutput, TIME_FORMAT } from '../../bench/gnu-time.js';
import { alternate } from '../../bench/schedule.js';
import { median, minMax, ratio } from '../../bench/stats.js';

describe('median', () => {
  const cases: { name: string; values: number[]; want: number | null }[] = [
    { name: 'empty', values: [], want: null },
    { name: 'one value', values: [4.2], want: 4.2 },
    { name: 'odd count, unsorted', values: [3, 1, 2], want: 2 },
    { name: 'even count: mean of the middle two', values: [4, 1, 3, 2], want: 2.5 },
    { name: 'outlier does not move it', values: [1, 1.1, 60], want: 1.1 },
  ];
  for (const c of cases) test(c.name, () => assert.equal(median(c.values), c.want));
  test('does not sort the caller array', () => {
    const v = [3, 1, 2];
    median(v);
    assert.deepEqual(v, [3, 1, 2]);
  });
});

describe('minMax and ratio', () => {
  const mm: { name: string; values: number[]; want: { min: number; max: number } | null }[] = [
    { name: 'empty', values: [], want: null },
    { name: 'one', values: [2], want: { min: 2, max: 2 } },
    { name: 'several', values: [5, 1.5, 3], want: { min: 1.5, max: 5 } },
  ];
  for (const c of mm) test(`minMax ${c.name}`, () => assert.deepEqual(minMax(c.values), c.want));
  const rs: { name: string; a: number | null | undefined; b: number | null | undefined; want: number | null }[] = [
    { name: 'plain', a: 3, b: 2, want: 1.5 },
    { name: 'missing numerator', a: null, b: 2, want: null },
    { name: 'missing denominator', a: 1, b: undefined, want: null },
    { name: 'zero denominator', a: 1, b: 0, want: null },
    { name: 'infinite numerator', a: Infinity, b: 1, want: null },
  ];
  for (const c of rs) test(`ratio ${c.name}`, () => assert.equal(ratio(c.a, c.b), c.want));
});

describe('alternate', () => {
  test('run 1 of every case, then run 2 of every case', () => {
    assert.deepEqual(alternate(3, 2), [
      { caseIndex: 0, run: 1 },
      { caseIndex: 1, run: 1 },
      { caseIndex: 2, run: 1 },
      { caseIndex: 0, run: 2 },
      { caseIndex: 1, run: 2 },
      { caseIndex: 2, run: 2 },
    ]);
  });
  test('no cases: no slots', () => assert.deepEqual(alternate(0, 3), []));
  test('every case gets exactly `runs` slots', () => {
    const slots = alternate(4, 5);
    for (let i = 0; i < 4; i++) assert.equal(slots.filter((s) => s.caseIndex === i).length, 5);
  });
});

describe('parseTimeOutput', () => {
  test('the format names every figure the parser reads', () => {
    for (const f of ['%e', '%M', '%U', '%S']) assert.ok(TIME_FORMAT.includes(f), f);
  });
  const cases: { name: string; text: string; want: ReturnType<typeof parseTimeOutput> }[] = [
    { name: 'successful command', text: 'OCIBENCH wall=3.05 rss=3172 user=2.01 sys=0.34\n', want: { wallS: 3.05, maxRssKb: 3172, userS: 2.01, sysS: 0.34 } },
    {
      name: 'failed command: status line first',
      text: 'Command exited with non-zero status 1\nOCIBENCH wall=0.10 rss=51200 user=0.08 sys=0.01\n',
      want: { wallS: 0.1, maxRssKb: 51200, userS: 0.08, sysS: 0.01 },
    },
    { name: 'killed by a signal: no figures line', text: 'Command terminated by signal 9\n', want: null },
    { name: 'empty file', text: '', want: null },
    { name: 'garbled figures', text: 'OCIBENCH wall=? rss=1 user=0 sys=0\n', want: null },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(parseTimeOutput(c.text), c.want));
});

describe('failureLine', () => {
  const cases: { name: string; stderr: string; want: string }[] = [
    { name: 'ocibundle error line wins', stderr: 'warning: x\nocibundle: EDIGEST: layer sha256:ab does not match\n', want: 'ocibundle: EDIGEST: layer sha256:ab does not match' },
    {
      name: 'node crash: the Error line, not the stack bottom',
      stderr: "node:internal/x:283\n    throw new E(\n          ^\n\nError [ERR_MODULE_NOT_FOUND]: Cannot find module '/a.js'\n    at f (x:1:1)\n    at g (y:2:2)\n\nNode.js v20.20.2\n",
      want: "Error [ERR_MODULE_NOT_FOUND]: Cannot find module '/a.js'",
    },
    { name: 'TypeError line', stderr: 'file:///x.js:3\nTypeError: x is not a function\n    at main (x:3:1)\n', want: 'TypeError: x is not a function' },
    { name: 'otherwise the last line (umoci)', stderr: '   • unpacking\n⨯ create runtime bundle: bad mediatype\n', want: '⨯ create runtime bundle: bad mediatype' },
    { name: 'empty', stderr: '', want: '' },
  ];
  for (const c of cases) test(c.name, () => assert.equal(failureLine(c.stderr), c.want));
  test('long lines are cut', () => assert.ok(failureLine('x'.repeat(1000)).length <= 303));
});
