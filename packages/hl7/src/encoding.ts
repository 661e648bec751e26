// HL7 v2 delimiters and escape sequences. Values read from a message are unescaped
// here; text written into an ACK is escaped here, so a reason that quotes a "|" or a
// "^" can never split a field, and no control character can break MLLP framing.

export interface Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
}

export const DEFAULT_DELIMITERS: Delimiters = { field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' };

/** Turns an HL7-escaped value into plain text. Formatting escapes (\H\, \N\, \.br\ ...) become nothing or a space. */
export function unescapeHl7(value: string, d: Delimiters): string {
  const e = d.escape;
  if (!e || !value.includes(e)) return value;
  let out = '';
  let i = 0;
  while (i < value.length) {
    const ch = value[i] as string;
    if (ch !== e) {
      out += ch;
      i++;
      continue;
    }
    const end = value.indexOf(e, i + 1);
    if (end === -1) {
      // A lone escape character: keep the rest as it is.
      out += value.slice(i);
      break;
    }
    out += decodeEscape(value.slice(i + 1, end), d);
    i = end + 1;
  }
  return out;
}

function decodeEscape(seq: string, d: Delimiters): string {
  switch (seq) {
    case 'F': return d.field;
    case 'S': return d.component;
    case 'T': return d.subcomponent;
    case 'R': return d.repetition;
    case 'E': return d.escape;
    case 'H':
    case 'N': return '';
    default:
      break;
  }
  if (/^X([0-9A-Fa-f]{2})+$/.test(seq)) {
    let s = '';
    for (let k = 1; k < seq.length; k += 2) {
      const code = parseInt(seq.slice(k, k + 2), 16);
      // Hex escapes for control characters are dropped rather than passed through.
      s += code >= 0x20 ? String.fromCharCode(code) : ' ';
    }
    return s;
  }
  // \.br\, \.sp\, \.in\ and anything unknown: a space keeps words apart.
  return ' ';
}

/** Escapes free text for an HL7 field and removes control characters (CR, LF, VT, FS, ...). */
export function escapeHl7(text: string, d: Delimiters = DEFAULT_DELIMITERS): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  let out = '';
  for (const ch of clean) {
    if (ch === d.escape) out += `${d.escape}E${d.escape}`;
    else if (ch === d.field) out += `${d.escape}F${d.escape}`;
    else if (ch === d.component) out += `${d.escape}S${d.escape}`;
    else if (ch === d.repetition) out += `${d.escape}R${d.escape}`;
    else if (ch === d.subcomponent) out += `${d.escape}T${d.escape}`;
    else out += ch;
  }
  return out;
}
