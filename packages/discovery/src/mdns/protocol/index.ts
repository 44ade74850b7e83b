/** The sans-IO mDNS code: codec, records, cache, schedule, responder, browser, engine. */
export * as dns from './dnsCodec.js';
export * as records from './serviceRecords.js';
export { parseAvahiBrowseLine } from './avahiBrowse.js';
export { default as MdnsEngine } from './MdnsEngine.js';
export { default as Responder } from './Responder.js';
export { default as Browser } from './Browser.js';
export { default as RecordCache } from './RecordCache.js';
export { default as QuerySchedule, queryScheduleDefault } from './QuerySchedule.js';
export { default as QueryBudget } from './QueryBudget.js';
export type { EngineTransmit, EngineEvent, EngineStats } from './MdnsEngine.js';
export type { ServiceAdvert, ServiceSighting } from './serviceRecords.js';
export type { DnsMessage, DnsQuestion, DnsRecord, DnsRData } from './dnsCodec.js';
export type { QueryScheduleConfig } from './QuerySchedule.js';
