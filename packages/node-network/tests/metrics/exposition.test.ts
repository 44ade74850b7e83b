import { describe, expect } from '@jest/globals';
import { test, fc } from '@fast-check/jest';
import {
  escapeLabelValue,
  formatExposition,
  parseExposition,
} from '../../src/metrics/exposition.js';
import * as errors from '../../src/errors.js';

const labelName = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_]{0,15}$/);
const anyText = fc.string({ unit: 'binary', maxLength: 60 });

describe('Prometheus text exposition', () => {
  test.prop([fc.dictionary(labelName, anyText, { maxKeys: 5 }), fc.double()])(
    'any label values and any value round-trip',
    (labels, value) => {
      const text = formatExposition([
        { name: 'x_total', help: 'h', type: 'counter', samples: [{ labels, value }] },
      ]);
      const parsed = parseExposition(text);
      expect(parsed.samples).toHaveLength(1);
      expect(parsed.samples[0].labels).toEqual(labels);
      expect(
        Object.is(parsed.samples[0].value, value === 0 ? 0 : value) ||
          parsed.samples[0].value === value,
      ).toBe(true);
      // One sample is one line: nothing in a label value breaks the line.
      expect(text.split('\n').filter((l) => l.startsWith('x_total'))).toHaveLength(1);
    },
  );

  test.prop([anyText])('escaped label values hold no raw quote, newline or lone backslash', (v) => {
    const e = escapeLabelValue(v);
    expect(e).not.toMatch(/\n/);
    // Every quote is escaped: an even run of backslashes never precedes one.
    expect(e).not.toMatch(/(^|[^\\])(\\\\)*"/);
  });

  test.prop([anyText])('help text round-trips', (help) => {
    const parsed = parseExposition(
      formatExposition([{ name: 'g', help, type: 'gauge', samples: [{ value: 1 }] }]),
    );
    expect(parsed.help.g).toBe(help);
    expect(parsed.types.g).toBe('gauge');
  });

  test('the format, exactly', () => {
    expect(
      formatExposition([
        {
          name: 'node_network_connections',
          help: 'Open connections\nby path.',
          type: 'gauge',
          samples: [
            { labels: { path: 'direct' }, value: 2 },
            { labels: { path: 'a"b\\c\nd' }, value: Infinity },
            { value: NaN },
          ],
        },
      ]),
    ).toBe(
      '# HELP node_network_connections Open connections\\nby path.\n' +
        '# TYPE node_network_connections gauge\n' +
        'node_network_connections{path="direct"} 2\n' +
        'node_network_connections{path="a\\"b\\\\c\\nd"} +Inf\n' +
        'node_network_connections NaN\n',
    );
  });

  test('invalid names are typed errors', () => {
    const bad = [
      { name: '1abc', labels: {} },
      { name: 'a-b', labels: {} },
      { name: 'ok', labels: { 'bad-label': 'x' } },
      { name: 'ok', labels: { __reserved: 'x' } },
    ];
    for (const b of bad) {
      expect(() =>
        formatExposition([
          { name: b.name, help: '', type: 'gauge', samples: [{ labels: b.labels, value: 1 }] },
        ]),
      ).toThrow(errors.ErrorMetricsInvalid);
    }
    expect(() =>
      formatExposition([
        { name: 'a', help: '', type: 'gauge', samples: [] },
        { name: 'a', help: '', type: 'gauge', samples: [] },
      ]),
    ).toThrow(errors.ErrorMetricsInvalid);
  });

  test.prop([fc.string({ maxLength: 80 })])('any text parses or fails typed', (t) => {
    try {
      parseExposition(t);
    } catch (e) {
      expect(e).toBeInstanceOf(errors.ErrorMetricsInvalid);
    }
  });
});
