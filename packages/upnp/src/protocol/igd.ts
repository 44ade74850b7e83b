/**
 * The IGD's device description (UPnP Device Architecture §2.3): the services
 * it lists, with control URLs resolved, and the choice of the one that maps
 * ports (WANIPConnection:2, then :1, then WANPPPConnection:1).
 */
import { ErrorUPnPResponseInvalid } from '../errors.js';
import { childText, descendants, parseXml } from './xml.js';

/** Port-mapping services in order of preference. */
const wanServiceTypes = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
];

type IgdService = { serviceType: string; controlUrl: string };

function invalid(reason: string): ErrorUPnPResponseInvalid<{ method: string; reason: string }> {
  return new ErrorUPnPResponseInvalid(`IGD description: ${reason}`, {
    data: { method: 'upnp', reason },
  });
}

/**
 * Every service with a usable control URL in a description fetched from
 * `descriptionUrl`. Control URLs resolve against `URLBase` when present, else
 * the description's URL, and must stay on the description's host over
 * http: (a description pointing us elsewhere is refused). Throws
 * `ErrorUPnPResponseInvalid`.
 */
function parseDescription(
  xml: string,
  descriptionUrl: string,
  maxChars?: number,
): Array<IgdService> {
  const root = parseXml(xml, maxChars != null ? { maxChars } : {});
  if (root.name !== 'root')
    throw invalid(`root element is <${root.name.slice(0, 64)}>, not <root>`);
  let origin: URL;
  try {
    origin = new URL(descriptionUrl);
  } catch {
    throw invalid('description URL is not a URL');
  }
  const urlBase = childText(root, 'URLBase');
  let base = origin;
  if (urlBase != null && urlBase !== '') {
    try {
      base = new URL(urlBase);
    } catch {
      throw invalid(`URLBase is not a URL: ${JSON.stringify(urlBase.slice(0, 80))}`);
    }
  }
  const services: Array<IgdService> = [];
  for (const s of descendants(root, 'service')) {
    const serviceType = childText(s, 'serviceType');
    const control = childText(s, 'controlURL');
    if (serviceType == null || serviceType === '' || control == null || control === '') continue;
    let url: URL;
    try {
      url = new URL(control, base);
    } catch {
      throw invalid(`controlURL is not a URL: ${JSON.stringify(control.slice(0, 80))}`);
    }
    if (url.protocol !== 'http:') throw invalid(`controlURL is not http: (${url.protocol})`);
    if (url.hostname !== origin.hostname) {
      throw invalid(
        `controlURL host ${url.hostname} is not the description's host ${origin.hostname}`,
      );
    }
    if (url.username !== '' || url.password !== '') throw invalid('controlURL carries credentials');
    services.push({ serviceType, controlUrl: url.href });
  }
  return services;
}

/** The most preferred port-mapping service, if the device has one. */
function selectWanService(services: Array<IgdService>): IgdService | undefined {
  for (const t of wanServiceTypes) {
    const s = services.find((x) => x.serviceType === t);
    if (s != null) return s;
  }
  return undefined;
}

export { wanServiceTypes, parseDescription, selectWanService };
export type { IgdService };
