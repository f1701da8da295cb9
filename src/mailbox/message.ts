// The few header fields the store keeps about a message (RFC 5322).

export interface MessageHeaders {
  readonly messageId?: string;
  readonly from?: string;
  readonly subject?: string;
}

/** The header section's Message-ID, From and Subject (unfolded, trimmed). */
export function parseHeaders(raw: Buffer): MessageHeaders {
  const text = raw.subarray(0, Math.min(raw.length, 64 * 1024)).toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  const head = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const out: { messageId?: string; from?: string; subject?: string } = {};
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'message-id' && out.messageId === undefined && value !== '') out.messageId = value;
    else if (name === 'from' && out.from === undefined) out.from = value;
    else if (name === 'subject' && out.subject === undefined) out.subject = value;
  }
  return out;
}
