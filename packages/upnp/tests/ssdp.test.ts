import { describe, expect } from '@jest/globals';
import { test, fc } from '@fast-check/jest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as errors from '../src/errors.js';
import {
  decodeMSearch,
  decodeSsdpResponse,
  encodeMSearch,
  encodeSsdpResponse,
  isGatewaySearchTarget,
} from '../src/protocol/ssdp.js';
import { decodedOrInvalid } from './utils.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const bytes = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));

const searchTarget = fc.constantFrom(
  'urn:schemas-upnp-org:device:InternetGatewayDevice:1',
  'urn:schemas-upnp-org:device:InternetGatewayDevice:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
);
const location = fc
  .tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 }), fc.webPath())
  .map(([h, p, s]) => new URL(`http://${h}:${p}${s.startsWith('/') ? s : `/${s}`}`).href);

describe('SSDP search (UDA 1.1 §1.3)', () => {
  test("miniupnpd 2.3.1's answer, as captured in the lab", () => {
    const answer = fs.readFileSync(path.join(fixtures, 'miniupnpd-ssdp-answer.txt'));
    expect(decodeSsdpResponse(new Uint8Array(answer))).toEqual({
      location: 'http://198.18.1.1:5000/rootDesc.xml',
      st: 'urn:schemas-upnp-org:device:InternetGatewayDevice:1',
      usn: 'uuid:3e6f1c2a-0d4b-4c55-9a1e-100000000001::urn:schemas-upnp-org:device:InternetGatewayDevice:1',
      server: 'Debian/6.18.44-fc-v782 UPnP/1.1 MiniUPnPd/2.3.1',
    });
  });

  test('the M-SEARCH we send', () => {
    const m = Buffer.from(
      encodeMSearch({ searchTarget: 'urn:schemas-upnp-org:device:InternetGatewayDevice:1' }),
    ).toString();
    expect(m).toBe(
      'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n',
    );
    expect(decodeMSearch(bytes(m))).toEqual({
      st: 'urn:schemas-upnp-org:device:InternetGatewayDevice:1',
    });
  });

  test.prop([location, searchTarget])('answers round-trip', (loc, st) => {
    const r = decodeSsdpResponse(encodeSsdpResponse({ location: loc, st }));
    expect(r.location).toBe(loc);
    expect(r.st).toBe(st);
    expect(isGatewaySearchTarget(r.st)).toBe(true);
  });

  test.prop([fc.uint8Array({ maxLength: 600 })])(
    'arbitrary bytes: an answer or ErrorUPnPResponseInvalid',
    (b) => {
      decodedOrInvalid(() => decodeSsdpResponse(b));
      decodeMSearch(b);
    },
  );

  test.prop([location, searchTarget, fc.string({ maxLength: 200 }), fc.nat()])(
    'answers with text spliced in: decoded with an http: LOCATION, or refused',
    (loc, st, junk, at) => {
      const text = Buffer.from(encodeSsdpResponse({ location: loc, st })).toString('latin1');
      const i = at % (text.length + 1);
      const r = decodedOrInvalid(() =>
        decodeSsdpResponse(bytes(text.slice(0, i) + junk + text.slice(i))),
      );
      if (r != null) expect(new URL(r.location).protocol).toBe('http:');
    },
  );

  test('hostile answers are refused with a reason', () => {
    const ok = (loc: string) =>
      `HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: ${loc}\r\n\r\n`;
    expect(() => decodeSsdpResponse(new Uint8Array(9000))).toThrow(
      errors.ErrorUPnPResponseTooLarge,
    );
    expect(() => decodeSsdpResponse(bytes(ok('https://198.18.1.1/d.xml')))).toThrow(/not http/);
    expect(() => decodeSsdpResponse(bytes(ok('file:///etc/passwd')))).toThrow(/not http/);
    expect(() => decodeSsdpResponse(bytes(ok('http://user:pw@198.18.1.1/d.xml')))).toThrow(
      /credentials/,
    );
    expect(() => decodeSsdpResponse(bytes(ok('not a url')))).toThrow(/not a URL/);
    expect(() => decodeSsdpResponse(bytes(ok(`http://198.18.1.1/${'a'.repeat(2000)}`)))).toThrow(
      /1024/,
    );
    expect(() => decodeSsdpResponse(bytes('HTTP/1.1 404 Not Found\r\n\r\n'))).toThrow(
      /not a search answer/,
    );
    expect(() =>
      decodeSsdpResponse(
        bytes('NOTIFY * HTTP/1.1\r\nLOCATION: http://198.18.1.1/\r\nNT: x\r\n\r\n'),
      ),
    ).toThrow(/not a search answer/);
    expect(() => decodeSsdpResponse(bytes('HTTP/1.1 200 OK\r\nST: x\r\n\r\n'))).toThrow(
      /no LOCATION/,
    );
    expect(() => decodeSsdpResponse(bytes('HTTP/1.1 200 OK\r\nLOC\0ATION: x\r\n\r\n'))).toThrow(
      /control/,
    );
    expect(isGatewaySearchTarget('urn:schemas-upnp-org:device:MediaServer:1')).toBe(false);
    expect(isGatewaySearchTarget('ssdp:all')).toBe(false);
  });
});
