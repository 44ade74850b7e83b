/**
 * SOAP 1.1 control messages of the WAN*Connection services (UPnP Device
 * Architecture §3.2), both directions (the gateway side serves the tests):
 * an action with its in-arguments, and the answer: the action's
 * out-arguments or a UPnPError fault with its `errorCode`.
 */
import { ErrorUPnPResponseInvalid } from '../errors.js';
import { child, childText, escapeXml, parseXml } from './xml.js';

const soapEnvelopeNs = 'http://schemas.xmlsoap.org/soap/envelope/';
const soapEncodingNs = 'http://schemas.xmlsoap.org/soap/encoding/';

/** UPnP error codes a WAN*Connection service answers with (IGD WANIPConnection:2 §2.5). */
const upnpErrorCodes: Record<number, string> = {
  401: 'Invalid Action',
  402: 'Invalid Args',
  501: 'Action Failed',
  606: 'Action not authorized',
  714: 'NoSuchEntryInArray',
  715: 'WildCardNotPermittedInSrcIP',
  716: 'WildCardNotPermittedInExtPort',
  718: 'ConflictInMappingEntry',
  724: 'SamePortValuesRequired',
  725: 'OnlyPermanentLeasesSupported',
  726: 'RemoteHostOnlySupportsWildcard',
  727: 'ExternalPortOnlySupportsWildcard',
  728: 'NoPortMapsAvailable',
  729: 'ConflictWithOtherMechanisms',
  732: 'WildCardNotPermittedInIntPort',
};

type SoapResult =
  { ok: true; values: Map<string, string> } | { ok: false; code?: number; description: string };

function invalid(reason: string): ErrorUPnPResponseInvalid<{ method: string; reason: string }> {
  return new ErrorUPnPResponseInvalid(`SOAP: ${reason}`, { data: { method: 'upnp', reason } });
}

function envelope(inner: string): string {
  return `<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="${soapEnvelopeNs}" s:encodingStyle="${soapEncodingNs}"><s:Body>${inner}</s:Body></s:Envelope>\r\n`;
}

function encodeSoapRequest(
  serviceType: string,
  action: string,
  args: Array<[string, string | number]>,
): { body: string; soapAction: string } {
  const inner = args.map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`).join('');
  return {
    body: envelope(`<u:${action} xmlns:u="${escapeXml(serviceType)}">${inner}</u:${action}>`),
    soapAction: `"${serviceType}#${action}"`,
  };
}

function bodyOf(xml: string, maxChars?: number) {
  const root = parseXml(xml, maxChars != null ? { maxChars } : {});
  if (root.name !== 'Envelope')
    throw invalid(`root element is <${root.name.slice(0, 64)}>, not <Envelope>`);
  const body = child(root, 'Body');
  if (body == null) throw invalid('no <Body> in the envelope');
  return body;
}

/**
 * Client side: the answer to `action` with HTTP status `status`. A fault is
 * returned (not thrown); anything malformed throws `ErrorUPnPResponseInvalid`.
 */
function decodeSoapResponse(
  status: number,
  xml: string,
  action: string,
  maxChars?: number,
): SoapResult {
  let body;
  try {
    body = bodyOf(xml, maxChars);
  } catch (e) {
    if (status !== 200 && status !== 500) {
      throw invalid(`HTTP ${status} without a SOAP envelope`);
    }
    throw e;
  }
  const fault = child(body, 'Fault');
  if (fault != null) {
    const upnpError = child(child(fault, 'detail') ?? fault, 'UPnPError');
    const faultString = childText(fault, 'faultstring') ?? '';
    if (upnpError == null) return { ok: false, description: faultString.slice(0, 200) };
    const codeText = childText(upnpError, 'errorCode') ?? '';
    if (!/^[0-9]{1,4}$/.test(codeText)) {
      throw invalid(`UPnPError errorCode ${JSON.stringify(codeText.slice(0, 20))} is not a number`);
    }
    const code = Number(codeText);
    const description = (
      childText(upnpError, 'errorDescription') ??
      upnpErrorCodes[code] ??
      ''
    ).slice(0, 200);
    return { ok: false, code, description };
  }
  if (status !== 200) throw invalid(`HTTP ${status} without a SOAP fault`);
  const response = child(body, `${action}Response`);
  if (response == null) throw invalid(`no <${action}Response> in the body`);
  const values = new Map<string, string>();
  for (const c of response.children) if (!values.has(c.name)) values.set(c.name, c.text.trim());
  return { ok: true, values };
}

/** Gateway side: the action and in-arguments of a request, or undefined. */
function decodeSoapRequest(
  xml: string,
): { action: string; serviceType?: string; args: Map<string, string> } | undefined {
  try {
    const body = bodyOf(xml);
    const call = body.children[0];
    if (call == null) return undefined;
    const args = new Map<string, string>();
    for (const c of call.children) args.set(c.name, c.text.trim());
    const ns = Object.entries(call.attributes).find(([k]) => k.startsWith('xmlns'))?.[1];
    return { action: call.name, serviceType: ns, args };
  } catch {
    return undefined;
  }
}

/** Gateway side: a successful answer with out-arguments. */
function encodeSoapResponse(
  serviceType: string,
  action: string,
  values: Array<[string, string | number]>,
): string {
  const inner = values.map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`).join('');
  return envelope(
    `<u:${action}Response xmlns:u="${escapeXml(serviceType)}">${inner}</u:${action}Response>`,
  );
}

/** Gateway side: a UPnPError fault (sent with HTTP 500). */
function encodeSoapFault(code: number, description: string): string {
  return envelope(
    `<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>${code}</errorCode><errorDescription>${escapeXml(description)}</errorDescription></UPnPError></detail></s:Fault>`,
  );
}

export {
  upnpErrorCodes,
  encodeSoapRequest,
  decodeSoapResponse,
  decodeSoapRequest,
  encodeSoapResponse,
  encodeSoapFault,
};
export type { SoapResult };
