import { useEffect, useRef, useState } from 'react';
import type { Result, TrustRootView } from '../../src/api/contract.ts';
import { formatLocalTime } from '../../src/api/format.ts';
import { errorWords, type Ui } from './App.tsx';
import { Table } from './Table.tsx';

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Fingerprints in groups of four hex digits, as a person reads them aloud to the vendor. */
const grouped = (fp: string) => fp.replace(/(.{4})(?=.)/g, '$1 ');
const hexOnly = (s: string) => s.toLowerCase().replace(/[^0-9a-f]/g, '');

/**
 * Vendor roots (trust anchors): bundles verify against them. A root file is
 * added only after the app shows the fingerprints of the root keys that signed
 * it and the person types the one the vendor confirmed (by phone, letter or
 * their website), as `unbrick trust add-root --fingerprint` asks on the CLI.
 */
export function TrustRoots({ ui, onChange }: { ui: Ui; onChange(): void }) {
  const [roots, setRoots] = useState<TrustRootView[]>([]);
  const [tick, setTick] = useState(0);
  const [pending, setPending] = useState<{ name: string; content: string; info: Result<'trust.inspectRoot'> } | undefined>();
  const [typed, setTyped] = useState('');
  const [removing, setRemoving] = useState<TrustRootView | undefined>();
  const [note, setNote] = useState<{ ok: boolean; text: string } | undefined>();
  const keepRef = useRef<HTMLButtonElement>(null);
  const typedRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    ui.client.call('trust.list', {}).then((r) => setRoots(r.roots), ui.fail);
  }, [ui, tick]);
  useEffect(() => {
    if (removing) keepRef.current?.focus();
  }, [removing]);
  useEffect(() => {
    if (pending) typedRef.current?.focus();
  }, [pending]);

  async function inspect(file: File) {
    setNote(undefined);
    try {
      const content = base64(new Uint8Array(await file.arrayBuffer()));
      const info = await ui.client.call('trust.inspectRoot', { content });
      setTyped('');
      setPending({ name: file.name, content, info });
    } catch (e) {
      setNote({ ok: false, text: `Not a root file Unbrick can trust: ${errorWords(e).message}` });
    }
  }
  const t = hexOnly(typed);
  const matches = pending && t.length >= 16 ? pending.info.signers.filter((s) => s.startsWith(t)) : [];
  async function add() {
    if (!pending) return;
    try {
      const r = await ui.client.call('trust.addRoot', { content: pending.content, fingerprint: t });
      setNote({ ok: true, text: `Now trusted: ${r.vendorName} (root version ${r.version}).` });
      setPending(undefined);
      setTick((x) => x + 1);
      onChange();
    } catch (e) {
      setNote({ ok: false, text: `Not added: ${errorWords(e).message}` });
    }
  }
  async function remove(r: TrustRootView) {
    try {
      await ui.client.call('trust.removeRoot', { vendorId: r.vendorId });
      setNote({ ok: true, text: `${r.vendorName} is no longer trusted: its bundles are refused from now on.` });
      setRemoving(undefined);
      setTick((x) => x + 1);
      onChange();
    } catch (e) {
      setNote({ ok: false, text: `Not removed: ${errorWords(e).message}` });
    }
  }

  return (
    <div className="roots" data-testid="trust-roots">
      <h3>Trusted vendor roots</h3>
      <p className="hint">Every bundle is checked against these. Add a vendor’s root file only after comparing its key fingerprint with the one the vendor gave you.</p>
      {roots.length === 0 ? (
        <p className="empty">No vendor is trusted yet: no bundle can be added until one is.</p>
      ) : (
        <Table testId="roots-table" columns={['Vendor', 'Root key fingerprint (confirmed)', 'Root version', 'Expires', 'Added', { label: 'Remove', srOnly: true }]}>
          {roots.map((r) => (
            <tr key={`${r.lab ? 'lab' : 'app'}-${r.vendorId}`} data-testid={`root-${r.vendorId}`}>
              <td>
                {r.vendorName} <small>({r.vendorId})</small>
                {r.lab && <span className="source-lab">LAB</span>}
              </td>
              <td>
                <code>{grouped(r.fingerprint.slice(0, 32))}…</code>
              </td>
              <td>{r.version}</td>
              <td>{r.expires.slice(0, 10)}</td>
              <td>{formatLocalTime(r.addedAt, { seconds: false })}</td>
              <td>
                {r.lab ? (
                  <span>demo lab only</span>
                ) : (
                  <button className="danger" data-testid={`root-remove-${r.vendorId}`} aria-label={`Remove ${r.vendorName}`} onClick={() => setRemoving(r)}>
                    Remove
                  </button>
                )}
              </td>
            </tr>
          ))}
        </Table>
      )}
      {removing && (
        <div className="root-confirm" role="alertdialog" aria-labelledby="root-remove-title" data-testid="root-remove-confirm" onKeyDown={(e) => e.key === 'Escape' && setRemoving(undefined)}>
          <p id="root-remove-title">
            <b>Stop trusting {removing.vendorName}?</b> Its bundles (already in the library too) are refused from then on. Root key:
          </p>
          <p className="fingerprint" data-testid="root-remove-fingerprint">
            {grouped(removing.fingerprint)}
          </p>
          <div className="buttons">
            <button ref={keepRef} onClick={() => setRemoving(undefined)}>
              Keep trusting
            </button>
            <button className="danger" data-testid="root-remove-yes" onClick={() => void remove(removing)}>
              Stop trusting {removing.vendorName}
            </button>
          </div>
        </div>
      )}
      <label className="add-bundle">
        Add a vendor root file (root.json){' '}
        <input
          type="file"
          accept=".json"
          data-testid="root-file"
          onChange={(e) => {
            const f = e.target.files?.[0];
            e.target.value = '';
            if (f) void inspect(f);
          }}
        />
      </label>
      {pending && (
        <div className="root-confirm" role="group" aria-labelledby="root-add-title" data-testid="root-add-confirm" onKeyDown={(e) => e.key === 'Escape' && setPending(undefined)}>
          <p id="root-add-title">
            <b>
              {pending.info.vendorName} ({pending.info.vendorId})
            </b>
            , root version {pending.info.version}, expires {pending.info.expires.slice(0, 10)}, from {pending.name}.
            {pending.info.alreadyTrusted && ' This vendor is already trusted: a new root version is applied with `unbrick trust rotate`.'}
          </p>
          <p>Signed by root key{pending.info.signers.length === 1 ? '' : 's'}:</p>
          {pending.info.signers.map((s) => (
            <p key={s} className="fingerprint" data-testid="root-fingerprint">
              {grouped(s)}
            </p>
          ))}
          <label>
            Type the fingerprint the vendor gave you (at least the first 16 digits):{' '}
            <input ref={typedRef} data-testid="root-fingerprint-typed" value={typed} onChange={(e) => setTyped(e.target.value)} spellCheck={false} autoComplete="off" size={40} />
          </label>
          <p aria-live="polite" data-testid="root-fingerprint-verdict">
            {t.length < 16 ? `${t.length} of at least 16 digits typed.` : matches.length ? '✓ Matches a key that signed this root.' : '✗ Matches no key that signed this root: do not add it; check with the vendor.'}
          </p>
          <div className="buttons">
            <button onClick={() => setPending(undefined)}>Cancel</button>
            <button className="primary" data-testid="root-add-yes" disabled={matches.length !== 1 || pending.info.alreadyTrusted} onClick={() => void add()}>
              Trust {pending.info.vendorName}
            </button>
          </div>
        </div>
      )}
      {note && (
        <p className={note.ok ? 'outcome ok' : 'outcome bad'} role={note.ok ? 'status' : 'alert'} data-testid="root-note">
          <span aria-hidden="true">{note.ok ? '✓ ' : '✗ '}</span>
          {note.text}
        </p>
      )}
    </div>
  );
}
