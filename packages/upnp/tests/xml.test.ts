import { describe, expect } from '@jest/globals';
import { test, fc } from '@fast-check/jest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as errors from '../src/errors.js';
import { escapeXml, parseXml } from '../src/protocol/xml.js';
import type { XmlElement } from '../src/protocol/xml.js';
import { parseDescription, selectWanService } from '../src/protocol/igd.js';
import {
  decodeSoapRequest,
  decodeSoapResponse,
  encodeSoapFault,
  encodeSoapRequest,
  encodeSoapResponse,
} from '../src/protocol/soap.js';
import { decodedOrInvalid } from './utils.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (name: string) => fs.readFileSync(path.join(fixtures, name), 'utf8');
const rootDesc = fixture('miniupnpd-rootDesc.xml');
const descUrl = 'http://198.18.1.1:5000/rootDesc.xml';
const v2 = 'urn:schemas-upnp-org:service:WANIPConnection:2';

/** Characters XML 1.0 cannot carry, even escaped. */
// eslint-disable-next-line no-control-regex
const notXml = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g;
const xmlText = fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => s.replace(notXml, ''));
const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,8}$/);
function elementOf(depth: number): fc.Arbitrary<XmlElement> {
  return fc
    .record({
      name,
      prefix: fc.option(name, { nil: undefined }),
      attributes: fc.dictionary(name, xmlText, { maxKeys: 3 }),
      children: depth === 0 ? fc.constant([]) : fc.array(elementOf(depth - 1), { maxLength: 3 }),
      text: xmlText,
    })
    .map((e) => {
      if (e.prefix === undefined) delete e.prefix;
      return e as XmlElement;
    });
}
const element = elementOf(4);

function serialize(e: XmlElement): string {
  const q = e.prefix != null ? `${e.prefix}:${e.name}` : e.name;
  const attrs = Object.entries(e.attributes)
    .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
    .join('');
  return `<${q}${attrs}>${escapeXml(e.text)}${e.children.map(serialize).join('')}</${q}>`;
}

/** Splices `junk` into `text` at `at`. */
const splice = (text: string, junk: string, at: number) => {
  const i = at % (text.length + 1);
  return text.slice(0, i) + junk + text.slice(i);
};

describe('XML reader', () => {
  test.prop([element])('serialized trees parse back to themselves', (e) => {
    expect(parseXml(`<?xml version="1.0"?>\n${serialize(e)}\n<!-- end -->`)).toEqual(e);
  });

  test.prop([fc.string({ unit: 'binary', maxLength: 300 })])(
    'arbitrary text: a tree or ErrorUPnPResponseInvalid',
    (s) => {
      decodedOrInvalid(() => parseXml(s));
    },
  );

  test.prop([fc.string({ unit: 'binary', maxLength: 40 }), fc.nat()])(
    "the real IGD description with text spliced in: parsed or refused, and what parses keeps control on the gateway's host",
    (junk, at) => {
      const services = decodedOrInvalid(() =>
        parseDescription(splice(rootDesc, junk, at), descUrl),
      );
      for (const s of services ?? []) expect(new URL(s.controlUrl).hostname).toBe('198.18.1.1');
    },
  );

  test('entities, CDATA, comments and self-closing elements', () => {
    const r = parseXml(
      `<a x='1 &amp; 2'>&lt;&#65;&#x42;&gt;<![CDATA[<raw>]]><!-- c --><b/><c></c></a>`,
    );
    expect(r.attributes).toEqual({ x: '1 & 2' });
    expect(r.text).toBe('<AB><raw>');
    expect(r.children.map((c) => c.name)).toEqual(['b', 'c']);
  });

  test('hostile documents are refused: DTDs, depth, element count, size, bad entities, broken nesting', () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><root>&lol2;</root>`;
    expect(() => parseXml(laughs)).toThrow(/DOCTYPE/);
    expect(() => parseXml('<a>'.repeat(10_000) + '</a>'.repeat(10_000))).toThrow(/deeper than 32/);
    expect(() => parseXml(`<a>${'<b/>'.repeat(5000)}</a>`)).toThrow(/more than 4096 elements/);
    expect(() => parseXml(`<a>${'x'.repeat(300_000)}</a>`)).toThrow(/over/);
    expect(() => parseXml('<a>&ext;</a>')).toThrow(/unknown entity/);
    expect(() => parseXml('<a>&#0;</a>')).toThrow(/not an XML character/);
    expect(() => parseXml('<a>&#x110000;</a>')).toThrow(errors.ErrorUPnPResponseInvalid);
    expect(() => parseXml('<a><b></a></b>')).toThrow(/closes/);
    expect(() => parseXml('<a></a><b></b>')).toThrow(/more than one root/);
    expect(() => parseXml('<a x="1" x="2"/>')).toThrow(/duplicate attribute/);
    expect(() => parseXml('<a>\u0001</a>')).toThrow(/control character/);
    expect(() => parseXml('')).toThrow(/no root/);
    expect(() => parseXml('<a')).toThrow(errors.ErrorUPnPResponseInvalid);
    // Names that are Object.prototype's own do not reach it.
    const r = parseXml('<a __proto__="x" constructor="y"><__proto__/></a>');
    expect(Object.getPrototypeOf(r.attributes)).toBe(Object.prototype);
    expect(r.attributes['__proto__']).toBe('x');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});

describe('IGD device description', () => {
  test("miniupnpd 2.3.1's description: WANIPConnection:2 at /ctl/IPConn", () => {
    const services = parseDescription(rootDesc, descUrl);
    expect(services.map((s) => s.serviceType)).toContain(v2);
    expect(selectWanService(services)).toEqual({
      serviceType: v2,
      controlUrl: 'http://198.18.1.1:5000/ctl/IPConn',
    });
  });

  test('WANIPConnection:2, then :1, then WANPPPConnection:1; none is undefined', () => {
    const v1 = rootDesc.replace(v2, 'urn:schemas-upnp-org:service:WANIPConnection:1');
    expect(selectWanService(parseDescription(v1, descUrl))?.serviceType).toBe(
      'urn:schemas-upnp-org:service:WANIPConnection:1',
    );
    const ppp = rootDesc.replace(v2, 'urn:schemas-upnp-org:service:WANPPPConnection:1');
    expect(selectWanService(parseDescription(ppp, descUrl))?.serviceType).toBe(
      'urn:schemas-upnp-org:service:WANPPPConnection:1',
    );
    const none = rootDesc.replace(v2, 'urn:schemas-upnp-org:service:SomethingElse:1');
    expect(selectWanService(parseDescription(none, descUrl))).toBeUndefined();
  });

  test('URLBase is honoured; control URLs that leave the gateway are refused', () => {
    const based = rootDesc.replace(
      '<specVersion>',
      '<URLBase>http://198.18.1.1:5001/</URLBase><specVersion>',
    );
    expect(selectWanService(parseDescription(based, descUrl))?.controlUrl).toBe(
      'http://198.18.1.1:5001/ctl/IPConn',
    );
    const away = rootDesc.replace(
      '<controlURL>/ctl/IPConn',
      '<controlURL>http://203.0.113.66/ctl/IPConn',
    );
    expect(() => parseDescription(away, descUrl)).toThrow(/not the description's host/);
    const scheme = rootDesc.replace('<controlURL>/ctl/IPConn', '<controlURL>file:///etc/passwd');
    expect(() => parseDescription(scheme, descUrl)).toThrow(/not http/);
    expect(() => parseDescription('<html><body>router login</body></html>', descUrl)).toThrow(
      /not <root>/,
    );
  });
});

describe('SOAP control messages', () => {
  test("miniupnpd 2.3.1's answers, as captured in the lab", () => {
    const ext = decodeSoapResponse(
      200,
      fixture('miniupnpd-GetExternalIPAddress.xml'),
      'GetExternalIPAddress',
    );
    expect(ext).toEqual({ ok: true, values: new Map([['NewExternalIPAddress', '7.7.7.1']]) });
    const any = decodeSoapResponse(
      200,
      fixture('miniupnpd-AddAnyPortMapping.xml'),
      'AddAnyPortMapping',
    );
    expect(any).toEqual({ ok: true, values: new Map([['NewReservedPort', '41998']]) });
    expect(
      decodeSoapResponse(200, fixture('miniupnpd-DeletePortMapping.xml'), 'DeletePortMapping'),
    ).toEqual({
      ok: true,
      values: new Map(),
    });
    expect(decodeSoapResponse(500, fixture('miniupnpd-fault-606.xml'), 'AddPortMapping')).toEqual({
      ok: false,
      code: 606,
      description: 'Action not authorized',
    });
  });

  const value = fc
    .string({ unit: 'grapheme', maxLength: 30 })
    .map((s) => s.replace(notXml, '').trim());
  const args = fc.uniqueArray(fc.tuple(name, value), { maxLength: 6, selector: ([k]) => k });

  test.prop([name, args])('requests and answers round-trip', (action, a) => {
    const req = encodeSoapRequest(v2, action, a);
    expect(req.soapAction).toBe(`"${v2}#${action}"`);
    expect(decodeSoapRequest(req.body)).toEqual({ action, serviceType: v2, args: new Map(a) });
    expect(decodeSoapResponse(200, encodeSoapResponse(v2, action, a), action)).toEqual({
      ok: true,
      values: new Map(a),
    });
  });

  test.prop([fc.integer({ min: 0, max: 9999 }), value])(
    'faults round-trip with their code',
    (code, d) => {
      expect(decodeSoapResponse(500, encodeSoapFault(code, d), 'AddPortMapping')).toMatchObject({
        ok: false,
        code,
      });
    },
  );

  test.prop([
    fc.constantFrom(200, 401, 500, 503),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.nat(),
  ])('arbitrary or corrupted bodies: a result or ErrorUPnPResponseInvalid', (status, junk, at) => {
    decodedOrInvalid(() => decodeSoapResponse(status, junk, 'GetExternalIPAddress'));
    decodedOrInvalid(() =>
      decodeSoapResponse(
        status,
        splice(fixture('miniupnpd-GetExternalIPAddress.xml'), junk, at),
        'GetExternalIPAddress',
      ),
    );
  });

  test('answers without the action, faults without a numeric code, HTML error pages: refused', () => {
    const other = encodeSoapResponse(v2, 'GetStatusInfo', []);
    expect(() => decodeSoapResponse(200, other, 'GetExternalIPAddress')).toThrow(
      /GetExternalIPAddressResponse/,
    );
    const nan = encodeSoapFault(1, 'x').replace('<errorCode>1<', '<errorCode>one<');
    expect(() => decodeSoapResponse(500, nan, 'AddPortMapping')).toThrow(/not a number/);
    expect(() => decodeSoapResponse(404, '<html>nope</html>', 'AddPortMapping')).toThrow(
      /HTTP 404/,
    );
    expect(() => decodeSoapResponse(503, '', 'AddPortMapping')).toThrow(/HTTP 503/);
  });
});
