// Markdown output of the bench: number formats, one row per summary with the same column
// count as the header, escaped cells, failure lines and verdict lines.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cell, fmtRatio, fmtSeconds, renderFailures, renderTable, renderVerdicts, TABLE_HEAD, tableRow } from '../../bench/table.js';
import type { CaseSummary } from '../../bench/types.js';

const base: CaseSummary = {
  group: 'debian',
  caseId: 'ocibundle',
  display: 'ocibundle unpack --image L:latest OUT',
  status: 'ok',
  okRuns: 3,
  runs: 3,
  medianS: 2.0456,
  minS: 1.9,
  maxS: 2.31,
  peakRssMb: 80.4,
  cpuS: 3.2,
  ratioFloor: 1.0449,
  ratioUmoci: 0.5,
};

const columns = (line: string): number => line.split(/(?<!\\)\|/).length - 2;

describe('number formats', () => {
  const cases: { name: string; got: string; want: string }[] = [
    { name: 'seconds under 10: 3 decimals', got: fmtSeconds(0.1234), want: '0.123' },
    { name: 'seconds from 10: 2 decimals', got: fmtSeconds(28.456), want: '28.46' },
    { name: 'missing seconds', got: fmtSeconds(null), want: '-' },
    { name: 'ratio', got: fmtRatio(1.0449), want: '1.04x' },
    { name: 'missing ratio', got: fmtRatio(null), want: '-' },
    { name: 'pipe in a cell is escaped', got: cell('zstd -dc L | tar -x'), want: 'zstd -dc L \\| tar -x' },
    { name: 'newline in a cell is flattened', got: cell('a\nb'), want: 'a b' },
  ];
  for (const c of cases) test(c.name, () => assert.equal(c.got, c.want));
});

describe('table rows', () => {
  test('an ok row', () => {
    assert.equal(tableRow(base), '| debian | ocibundle | ok | 2.046 | 1.900-2.310 | 80 | 3.200 | 1.04x | 0.50x | - |');
  });
  test('a failed row shows runs and dashes', () => {
    const r = tableRow({ ...base, status: 'failed', okRuns: 0, medianS: null, minS: null, maxS: null, peakRssMb: null, cpuS: null, ratioFloor: null, ratioUmoci: null });
    assert.equal(r, '| debian | ocibundle | failed (0/3) | - | - | - | - | - | - | - |');
  });
  test('the ratio to the physical limit', () => {
    assert.match(tableRow({ ...base, ratioPhys: 1.234 }), /\| 1\.23x \|$/);
  });
  test('a case id with a pipe keeps the column count', () => {
    assert.equal(columns(tableRow({ ...base, caseId: 'a|b' })), columns(TABLE_HEAD[0]!));
  });
  test('header and rows have the same number of columns', () => {
    const lines = renderTable([base, { ...base, caseId: 'zstd+tar' }]).split('\n');
    assert.equal(lines.length, 4);
    const n = columns(lines[0]!);
    for (const l of lines) assert.equal(columns(l), n, l);
  });
});

describe('failures and verdicts', () => {
  test('only rows with an error are listed', () => {
    const text = renderFailures([base, { ...base, caseId: 'umoci', status: 'unsupported', error: 'rc=1: zstd not supported' }]);
    assert.equal(text, '- debian/umoci (unsupported): rc=1: zstd not supported');
  });
  test('no failures: empty', () => assert.equal(renderFailures([base]), ''));
  test('verdict lines lead with the outcome', () => {
    const text = renderVerdicts([
      { target: 't1', outcome: 'pass', detail: '0.9x', value: 0.9 },
      { target: 't2', outcome: 'miss', detail: '1.2x', value: 1.2 },
    ]);
    assert.equal(text, 'PASS t1: 0.9x\nMISS t2: 1.2x');
  });
});
