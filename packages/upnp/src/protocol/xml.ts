/**
 * A small, bounded XML reader for what IGDs send (device descriptions and
 * SOAP envelopes): elements, attributes, text, CDATA, comments, processing
 * instructions and the five predefined and numeric entities. No DTDs (a
 * DOCTYPE is refused, so no entity expansion), no external anything. Input
 * size, depth and element count are capped; every malformed input throws
 * `ErrorUPnPResponseInvalid`. Element names are matched by local name
 * (namespace prefixes are kept in `prefix` but not resolved).
 */
import { ErrorUPnPResponseInvalid } from '../errors.js';

type XmlElement = {
  /** Local name (after any `prefix:`). */
  name: string;
  prefix?: string;
  attributes: Record<string, string>;
  children: Array<XmlElement>;
  /** The element's own text (CDATA included), concatenated, not its descendants'. */
  text: string;
};

type XmlLimits = { maxChars: number; maxDepth: number; maxElements: number };

const xmlLimitsDefault: XmlLimits = { maxChars: 256 * 1024, maxDepth: 32, maxElements: 4096 };

function invalid(reason: string): ErrorUPnPResponseInvalid<{ method: string; reason: string }> {
  return new ErrorUPnPResponseInvalid(`XML: ${reason}`, { data: { method: 'upnp', reason } });
}

const nameStart = /[A-Za-z_]/;
const nameRe = /[A-Za-z_][A-Za-z0-9_.:-]*/y;
const spaceRe = /[ \t\r\n]*/y;

function isXmlChar(c: number): boolean {
  return (
    c === 0x9 ||
    c === 0xa ||
    c === 0xd ||
    (c >= 0x20 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd) ||
    (c >= 0x10000 && c <= 0x10ffff)
  );
}

const namedEntities: Record<string, string> = {
  lt: '<',
  gt: '>',
  amp: '&',
  quot: '"',
  apos: "'",
};

/** Replaces entity references in raw character data. */
function decodeEntities(raw: string): string {
  if (!raw.includes('&')) return raw;
  let out = '';
  let i = 0;
  for (;;) {
    const amp = raw.indexOf('&', i);
    if (amp === -1) return out + raw.slice(i);
    out += raw.slice(i, amp);
    const semi = raw.indexOf(';', amp);
    if (semi === -1 || semi - amp > 12) throw invalid('unterminated entity reference');
    const ref = raw.slice(amp + 1, semi);
    if (ref.startsWith('#')) {
      const hex = ref[1] === 'x';
      const digits = ref.slice(hex ? 2 : 1);
      if (!(hex ? /^[0-9A-Fa-f]{1,6}$/ : /^[0-9]{1,7}$/).test(digits)) {
        throw invalid(`bad character reference &${ref};`);
      }
      const code = parseInt(digits, hex ? 16 : 10);
      if (!isXmlChar(code)) throw invalid(`character reference &${ref}; is not an XML character`);
      out += String.fromCodePoint(code);
    } else {
      const v = namedEntities[ref];
      if (v == null) throw invalid(`unknown entity &${ref};`);
      out += v;
    }
    i = semi + 1;
  }
}

function checkChars(s: string): void {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x9 && c !== 0xa && c !== 0xd) {
      throw invalid(`control character 0x${c.toString(16)}`);
    }
    if (c === 0xfffe || c === 0xffff) throw invalid('non-character U+FFFE/U+FFFF');
  }
}

function splitName(qname: string): { name: string; prefix?: string } {
  const colon = qname.indexOf(':');
  if (colon === -1) return { name: qname };
  const prefix = qname.slice(0, colon);
  const name = qname.slice(colon + 1);
  if (prefix === '' || name === '' || name.includes(':') || !nameStart.test(name[0])) {
    throw invalid(`bad qualified name ${qname.slice(0, 64)}`);
  }
  return { name, prefix };
}

/** Parses one XML document and returns its root element. */
function parseXml(input: string, limits: Partial<XmlLimits> = {}): XmlElement {
  const { maxChars, maxDepth, maxElements } = { ...xmlLimitsDefault, ...limits };
  if (typeof input !== 'string') throw invalid('not text');
  if (input.length > maxChars) throw invalid(`${input.length} characters, over ${maxChars}`);
  checkChars(input);
  let i = input.charCodeAt(0) === 0xfeff ? 1 : 0;
  const stack: Array<XmlElement> = [];
  let root: XmlElement | undefined;
  let count = 0;
  const n = input.length;
  const readName = (): string => {
    nameRe.lastIndex = i;
    const m = nameRe.exec(input);
    if (m == null) throw invalid(`expected a name at ${i}`);
    i += m[0].length;
    return m[0];
  };
  const skipSpace = (): number => {
    spaceRe.lastIndex = i;
    const m = spaceRe.exec(input)!;
    i += m[0].length;
    return m[0].length;
  };
  while (i < n) {
    const lt = input.indexOf('<', i);
    const textEnd = lt === -1 ? n : lt;
    if (textEnd > i) {
      const raw = input.slice(i, textEnd);
      if (stack.length === 0) {
        if (raw.trim() !== '') throw invalid('text outside the root element');
      } else {
        if (raw.includes(']]>')) throw invalid("']]>' in text");
        stack[stack.length - 1].text += decodeEntities(raw);
      }
      i = textEnd;
      if (lt === -1) break;
    }
    // At '<'.
    if (input.startsWith('<?', i)) {
      const end = input.indexOf('?>', i + 2);
      if (end === -1) throw invalid('unterminated processing instruction');
      i = end + 2;
      continue;
    }
    if (input.startsWith('<!--', i)) {
      const end = input.indexOf('-->', i + 4);
      if (end === -1) throw invalid('unterminated comment');
      i = end + 3;
      continue;
    }
    if (input.startsWith('<![CDATA[', i)) {
      if (stack.length === 0) throw invalid('CDATA outside the root element');
      const end = input.indexOf(']]>', i + 9);
      if (end === -1) throw invalid('unterminated CDATA section');
      stack[stack.length - 1].text += input.slice(i + 9, end);
      i = end + 3;
      continue;
    }
    if (input.startsWith('<!', i)) throw invalid('DOCTYPE and declarations are not accepted');
    if (input.startsWith('</', i)) {
      i += 2;
      const qname = readName();
      skipSpace();
      if (input[i] !== '>') throw invalid(`expected '>' after </${qname.slice(0, 64)}`);
      i++;
      const open = stack.pop();
      if (open == null)
        throw invalid(`closing tag </${qname.slice(0, 64)}> without an open element`);
      const qopen = open.prefix != null ? `${open.prefix}:${open.name}` : open.name;
      if (qopen !== qname) {
        throw invalid(`</${qname.slice(0, 64)}> closes <${qopen.slice(0, 64)}>`);
      }
      continue;
    }
    // A start tag.
    i++;
    if (root != null && stack.length === 0) throw invalid('more than one root element');
    const qname = readName();
    const el: XmlElement = { ...splitName(qname), attributes: {}, children: [], text: '' };
    if (++count > maxElements) throw invalid(`more than ${maxElements} elements`);
    for (;;) {
      const spaced = skipSpace();
      if (i >= n) throw invalid('unterminated start tag');
      if (input[i] === '>' || input.startsWith('/>', i)) break;
      if (spaced === 0)
        throw invalid(`expected a space before an attribute in <${qname.slice(0, 64)}>`);
      const attr = readName();
      skipSpace();
      if (input[i] !== '=') throw invalid(`attribute ${attr.slice(0, 64)} without a value`);
      i++;
      skipSpace();
      const quote = input[i];
      if (quote !== '"' && quote !== "'") throw invalid(`unquoted value for ${attr.slice(0, 64)}`);
      const end = input.indexOf(quote, i + 1);
      if (end === -1) throw invalid('unterminated attribute value');
      const raw = input.slice(i + 1, end);
      if (raw.includes('<')) throw invalid("'<' in an attribute value");
      if (Object.prototype.hasOwnProperty.call(el.attributes, attr)) {
        throw invalid(`duplicate attribute ${attr.slice(0, 64)}`);
      }
      Object.defineProperty(el.attributes, attr, {
        value: decodeEntities(raw),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      i = end + 1;
    }
    const selfClosing = input[i] === '/';
    i += selfClosing ? 2 : 1;
    if (stack.length > 0) stack[stack.length - 1].children.push(el);
    else root = el;
    if (!selfClosing) {
      if (stack.length + 1 > maxDepth) throw invalid(`nested deeper than ${maxDepth}`);
      stack.push(el);
    }
  }
  if (stack.length > 0)
    throw invalid(`<${stack[stack.length - 1].name.slice(0, 64)}> is not closed`);
  if (root == null) throw invalid('no root element');
  return root;
}

/** Direct children of `el` named `name` (local name). */
function children(el: XmlElement, name: string): Array<XmlElement> {
  return el.children.filter((c) => c.name === name);
}

function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

/** The trimmed text of `el`'s first child named `name`, if any. */
function childText(el: XmlElement, name: string): string | undefined {
  return child(el, name)?.text.trim();
}

/** Every descendant named `name`, in document order (iterative: no recursion depth to exhaust). */
function descendants(el: XmlElement, name: string): Array<XmlElement> {
  const out: Array<XmlElement> = [];
  const todo: Array<XmlElement> = [...el.children].reverse();
  while (todo.length > 0) {
    const e = todo.pop()!;
    if (e.name === name) out.push(e);
    for (let k = e.children.length - 1; k >= 0; k--) todo.push(e.children[k]);
  }
  return out;
}

/** Escapes text for element content or attribute values. */
function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export { parseXml, children, child, childText, descendants, escapeXml, xmlLimitsDefault };
export type { XmlElement, XmlLimits };
