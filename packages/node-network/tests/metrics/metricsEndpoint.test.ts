import { describe, test, expect, afterEach } from '@jest/globals';
import http from 'node:http';
import Logger, { LogLevel } from '@matrixai/logger';
import { NodeNetwork, identity, errors, parseExposition } from '../../src/index.js';

const logger = new Logger('test', LogLevel.ERROR);
const nodes: Array<NodeNetwork> = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

async function node(opts: Partial<Parameters<typeof NodeNetwork.createNodeNetwork>[0]> = {}) {
  const nn = await NodeNetwork.createNodeNetwork({
    keyPair: identity.generateKeyPair(),
    network: 'testnet',
    listen: [{ host: '127.0.0.1', port: 0 }],
    logger,
    ...opts,
  });
  nodes.push(nn);
  return nn;
}

function scrape(url: string): Promise<{ type: string; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve({ type: String(res.headers['content-type']), text })
            : reject(new Error(`HTTP ${res.statusCode}`)),
        );
      })
      .on('error', reject);
  });
}

/** The value of one sample (labels must match exactly), or undefined. */
function value(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return parseExposition(text).samples.find(
    (s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels),
  )?.value;
}

function sum(text: string, name: string): number {
  return parseExposition(text)
    .samples.filter((s) => s.name === name)
    .reduce((t, s) => t + s.value, 0);
}

describe('Prometheus metrics on a local HTTP endpoint', () => {
  test('a scrape parses, and its values follow a connection', async () => {
    const a = await node({ metrics: { host: '127.0.0.1', port: 0 } });
    const b = await node();
    expect(a.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const before = await scrape(a.metricsUrl!);
    expect(before.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const parsed = parseExposition(before.text);
    expect(parsed.types.node_network_connections).toBe('gauge');
    expect(parsed.types.node_network_connect_attempts_total).toBe('counter');
    expect(value(before.text, 'node_network_connections', { path: 'direct' })).toBe(0);
    expect(
      value(before.text, 'node_network_info', { node_id: a.nodeIdEncoded, network: 'testnet' }),
    ).toBe(1);
    expect(value(before.text, 'node_network_relay_circuits')).toBe(0);
    const auditBefore = sum(before.text, 'node_network_audit_records_total');

    await a.connect(b.nodeIdEncoded, b.addresses);
    const after = (await scrape(a.metricsUrl!)).text;
    expect(value(after, 'node_network_connections', { path: 'direct' })).toBe(1);
    expect(value(after, 'node_network_connect_attempts_total', { outcome: 'ok' })).toBe(1);
    expect(value(after, 'node_network_connects_total', { outcome: 'ok', path: 'direct' })).toBe(1);
    expect(
      value(after, 'node_network_connections_opened_total', {
        path: 'direct',
        direction: 'outbound',
      }),
    ).toBe(1);
    expect(sum(after, 'node_network_audit_records_total')).toBeGreaterThan(auditBefore);
    expect(value(after, 'node_network_audit_records_memory')).toBe(a.status().audit.length);
    await a.connect(b.nodeIdEncoded);
    const reused = (await scrape(a.metricsUrl!)).text;
    expect(
      value(reused, 'node_network_connects_total', { outcome: 'reused', path: 'direct' }),
    ).toBe(1);
    expect(a.status().metricsUrl).toBe(a.metricsUrl);
    // A path that is not /metrics.
    await expect(scrape(a.metricsUrl!.replace('/metrics', '/metricsx'))).rejects.toThrow(
      /HTTP 404/,
    );
    await a.stop();
    nodes.splice(nodes.indexOf(a), 1);
    expect(a.metricsUrl).toBeUndefined();
  });

  test('a non-loopback metrics host is refused at start (unless allowRemote)', async () => {
    await expect(node({ metrics: { host: '0.0.0.0', port: 0 } })).rejects.toBeInstanceOf(
      errors.ErrorNodeNetworkConfig,
    );
  });
});
