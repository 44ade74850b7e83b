/**
 * Fake gateways on 127.0.0.1 for the hostile cases only (refusals, lies,
 * silence, slowness): the behaviour of a real gateway is tested against a
 * real miniupnpd in netlab (miniupnpd.test.ts). Each fake logs what it was
 * sent and answers through a handler the test gives it.
 */
import type { AddressInfo } from 'node:net';
import dgram from 'node:dgram';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeMSearch, encodeSsdpResponse } from '../src/protocol/ssdp.js';
import { decodeSoapRequest, encodeSoapFault, encodeSoapResponse } from '../src/protocol/soap.js';

type UdpReply = Uint8Array | Array<Uint8Array> | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A UDP server on 127.0.0.1: `handler` gets each datagram and returns the answer(s), or nothing. */
class FakeUdpServer {
  public static async start(
    handler: (data: Uint8Array, n: number) => UdpReply | Promise<UdpReply>,
  ): Promise<FakeUdpServer> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new FakeUdpServer(socket, handler);
  }

  public readonly received: Array<Uint8Array> = [];
  public readonly port: number;
  protected closed = false;

  protected constructor(
    protected socket: dgram.Socket,
    public handler: (data: Uint8Array, n: number) => UdpReply | Promise<UdpReply>,
  ) {
    this.port = socket.address().port;
    socket.on('message', async (msg, r) => {
      const data = new Uint8Array(msg);
      this.received.push(data);
      const reply = await this.handler(data, this.received.length);
      if (this.closed || reply == null) return;
      for (const d of Array.isArray(reply) ? reply : [reply]) socket.send(d, r.port, r.address);
    });
  }

  public close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

type SoapHandler = (
  action: string,
  args: Map<string, string>,
  n: number,
) =>
  | { values: Array<[string, string | number]> }
  | { fault: number; description?: string }
  | { raw: string; status?: number }
  | 'hang'
  | Promise<unknown>;

type DescriptionHandler = (res: http.ServerResponse, n: number) => void | Promise<void>;

const rootDesc = fs.readFileSync(
  path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'miniupnpd-rootDesc.xml'),
  'utf8',
);
const v2 = 'urn:schemas-upnp-org:service:WANIPConnection:2';

/**
 * A UPnP IGD on 127.0.0.1: an SSDP responder (unicast, on its own port) and
 * an HTTP server with miniupnpd's real description. `description` and
 * `soap` replace the well-behaved answers; `soapCalls` logs the actions.
 */
class FakeIgd {
  public static async start({
    description,
    soap,
    ssdpAnswer,
  }: {
    description?: DescriptionHandler;
    soap?: SoapHandler;
    /** The SSDP answer(s) for a search, given the description's URL; default one proper answer. */
    ssdpAnswer?: (location: string) => UdpReply;
  } = {}): Promise<FakeIgd> {
    const igd = new FakeIgd();
    igd.description = description;
    igd.soap = soap;
    igd.server = http.createServer((req, res) => void igd.handle(req, res));
    await new Promise<void>((resolve) => igd.server.listen(0, '127.0.0.1', resolve));
    igd.httpPort = (igd.server.address() as AddressInfo).port;
    igd.ssdp = await FakeUdpServer.start((data) => {
      const search = decodeMSearch(data);
      if (search == null) return undefined;
      const location = igd.location;
      return ssdpAnswer != null
        ? ssdpAnswer(location)
        : encodeSsdpResponse({ location, st: search.st });
    });
    return igd;
  }

  public server!: http.Server;
  public ssdp!: FakeUdpServer;
  public httpPort = 0;
  public description?: DescriptionHandler;
  public soap?: SoapHandler;
  public readonly soapCalls: Array<{ action: string; args: Map<string, string> }> = [];
  public descriptionGets = 0;

  public get location(): string {
    return `http://127.0.0.1:${this.httpPort}/rootDesc.xml`;
  }

  public async close(): Promise<void> {
    this.ssdp.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method === 'GET') {
      this.descriptionGets++;
      if (this.description != null) return void (await this.description(res, this.descriptionGets));
      res.writeHead(200, { 'Content-Type': 'text/xml' });
      res.end(rootDesc);
      return;
    }
    let body = '';
    for await (const chunk of req) body += chunk;
    const call = decodeSoapRequest(body);
    if (call == null) {
      res.writeHead(400);
      return void res.end();
    }
    this.soapCalls.push({ action: call.action, args: call.args });
    const answer = await (this.soap ?? wellBehaved)(call.action, call.args, this.soapCalls.length);
    if (answer === 'hang') return; // never answer
    const a = answer as
      | { values: Array<[string, string | number]> }
      | { fault: number; description?: string }
      | { raw: string; status?: number };
    if ('raw' in a) {
      res.writeHead(a.status ?? 200, { 'Content-Type': 'text/xml' });
      return void res.end(a.raw);
    }
    if ('fault' in a) {
      res.writeHead(500, { 'Content-Type': 'text/xml' });
      return void res.end(encodeSoapFault(a.fault, a.description ?? 'refused'));
    }
    res.writeHead(200, { 'Content-Type': 'text/xml' });
    res.end(encodeSoapResponse(v2, call.action, a.values));
  }
}

/** What miniupnpd answers (external address 7.7.7.1, any port granted as asked). */
function wellBehaved(
  action: string,
  args: Map<string, string>,
): { values: Array<[string, string | number]> } {
  if (action === 'GetExternalIPAddress') return { values: [['NewExternalIPAddress', '7.7.7.1']] };
  if (action === 'AddAnyPortMapping')
    return { values: [['NewReservedPort', args.get('NewExternalPort')!]] };
  return { values: [] };
}

export { FakeUdpServer, FakeIgd, wellBehaved, sleep };
export type { UdpReply, SoapHandler };
