/** PEM armour: base64 DER between BEGIN/END lines. */

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block in `text`, in order. */
export function decodePem(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(PEM_RE)) {
    const body = m[2]!;
    // Encrypted legacy PEM carries "Proc-Type:" headers; keep them visible to the caller.
    if (/Proc-Type:/.test(body)) {
      out.push({ label: `${m[1]!} (ENCRYPTED)`, der: new Uint8Array(0) });
      continue;
    }
    out.push({ label: m[1]!, der: new Uint8Array(Buffer.from(body.replace(/\s+/g, ''), 'base64')) });
  }
  return out;
}

export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
