import * as errors from '../errors.js';

/**
 * The Prometheus text exposition format (version 0.0.4): per metric family
 * a `# HELP` line, a `# TYPE` line, then one line per sample,
 * `name{label="value",...} number`. Label values escape backslash, double
 * quote and line feed; help text escapes backslash and line feed. Names are
 * checked (an invalid one is a bug: `ErrorMetricsInvalid`). `parseExposition`
 * reads the same subset back (the tests' scraper).
 */
type MetricType = 'counter' | 'gauge';

type MetricSample = { labels?: Record<string, string>; value: number };

type MetricFamily = {
  name: string;
  help: string;
  type: MetricType;
  samples: Array<MetricSample>;
};

const contentType = 'text/plain; version=0.0.4; charset=utf-8';

const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatExposition(families: ReadonlyArray<MetricFamily>): string {
  const lines: Array<string> = [];
  const seen = new Set<string>();
  for (const f of families) {
    if (!metricNamePattern.test(f.name)) {
      throw new errors.ErrorMetricsInvalid(`Invalid metric name ${JSON.stringify(f.name)}`);
    }
    if (seen.has(f.name)) throw new errors.ErrorMetricsInvalid(`Metric ${f.name} given twice`);
    seen.add(f.name);
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels ?? {});
      for (const [k] of labels) {
        if (!labelNamePattern.test(k) || k.startsWith('__')) {
          throw new errors.ErrorMetricsInvalid(
            `Invalid label name ${JSON.stringify(k)} on ${f.name}`,
          );
        }
      }
      const l =
        labels.length > 0
          ? `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(String(v))}"`).join(',')}}`
          : '';
      lines.push(`${f.name}${l} ${formatValue(s.value)}`);
    }
  }
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}

type ParsedSample = { name: string; labels: Record<string, string>; value: number };
type ParsedExposition = {
  samples: Array<ParsedSample>;
  help: Record<string, string>;
  types: Record<string, string>;
};

function parseValue(t: string): number {
  if (t === '+Inf' || t === 'Inf') return Infinity;
  if (t === '-Inf') return -Infinity;
  if (t === 'NaN') return NaN;
  const v = Number(t);
  if (t.trim() === '' || Number.isNaN(v)) {
    throw new errors.ErrorMetricsInvalid(`Invalid sample value ${JSON.stringify(t)}`);
  }
  return v;
}

function unescapeText(s: string, quote: boolean): string {
  return s.replace(quote ? /\\(["\\n])/g : /\\([\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** Reads exposition text (samples, help, types); `ErrorMetricsInvalid` on a malformed line. */
function parseExposition(text: string): ParsedExposition {
  const out: ParsedExposition = { samples: [], help: {}, types: {} };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?([^\n]*)$/.exec(line);
    if (meta != null) {
      if (meta[1] === 'HELP') out.help[meta[2]] = unescapeText(meta[3], false);
      else out.types[meta[2]] = meta[3];
      continue;
    }
    if (line.startsWith('#')) continue;
    const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (head == null)
      throw new errors.ErrorMetricsInvalid(`Malformed line ${JSON.stringify(line)}`);
    let i = head[1].length;
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      const label = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,?)/y;
      while (line[i] !== '}') {
        label.lastIndex = i;
        const m = label.exec(line);
        if (m == null) {
          throw new errors.ErrorMetricsInvalid(`Malformed labels in ${JSON.stringify(line)}`);
        }
        labels[m[1]] = unescapeText(m[2], true);
        i = label.lastIndex;
        if (m[3] === '' && line[i] !== '}') {
          throw new errors.ErrorMetricsInvalid(`Malformed labels in ${JSON.stringify(line)}`);
        }
      }
      i++;
    }
    const rest = line.slice(i).trim().split(/\s+/);
    if (rest.length < 1 || rest.length > 2) {
      throw new errors.ErrorMetricsInvalid(`Malformed sample ${JSON.stringify(line)}`);
    }
    out.samples.push({ name: head[1], labels, value: parseValue(rest[0]) });
  }
  return out;
}

export { contentType, escapeLabelValue, escapeHelp, formatExposition, parseExposition };
export type { MetricType, MetricSample, MetricFamily, ParsedSample, ParsedExposition };
