import { useEffect, useState } from 'react';
import type { LibraryEntryView } from '../../src/api/contract.ts';
import { formatTarget, formatVersion } from '../../src/api/format.ts';
import { errorWords, type Ui } from './App.tsx';
import { Table } from './Table.tsx';
import { TrustRoots } from './TrustRoots.tsx';
import './pages.css';

/** Bytes per chunk sent to the core (the contract takes at most 1 MiB per message). */
const CHUNK = 512 * 1024;

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * The golden and update libraries of this app: what Recover, Full unbrick and
 * Offline update can write on real units. A bundle file added here is
 * verified (signatures, expiry, anti-rollback, every payload) before it is
 * listed; a refused one says why.
 */
export function LibraryView({ ui, lab }: { ui: Ui; lab: boolean }) {
  const [golden, setGolden] = useState<LibraryEntryView[]>([]);
  const [updates, setUpdates] = useState<LibraryEntryView[]>([]);
  const [tick, setTick] = useState(0);
  const [progress, setProgress] = useState<string | undefined>();
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string; code?: string } | undefined>();

  useEffect(() => {
    ui.client.call('library.list', { kind: 'golden' }).then((r) => setGolden(r.entries), ui.fail);
    ui.client.call('library.list', { kind: 'update' }).then((r) => setUpdates(r.entries), ui.fail);
  }, [ui, tick]);
  const mine = (l: LibraryEntryView[]) => l.filter((e) => !e.lab);
  const labs = (l: LibraryEntryView[]) => l.filter((e) => e.lab);

  const [checks, setChecks] = useState<Record<string, { ok: boolean; code?: string; message?: string }>>({});
  async function check(kind: 'golden' | 'update', bundleId: string) {
    try {
      const r = await ui.client.call('library.check', { kind, bundleId });
      setChecks((c) => ({ ...c, [bundleId]: r }));
    } catch (e) {
      ui.fail(e);
    }
  }
  async function remove(kind: 'golden' | 'update', e: LibraryEntryView) {
    if (!window.confirm(`Remove ${e.product} ${e.version} from the ${kind} library? Workflows can no longer write it until it is added again.`)) return;
    try {
      await ui.client.call('library.remove', { kind, bundleId: e.id });
      setTick((t) => t + 1);
    } catch (err) {
      ui.fail(err);
    }
  }

  async function add(file: File) {
    setOutcome(undefined);
    let uploadId: string | undefined;
    try {
      uploadId = (await ui.client.call('library.importBegin', { filename: file.name, size: file.size })).uploadId;
      for (let off = 0; off < file.size; off += CHUNK) {
        const bytes = new Uint8Array(await file.slice(off, off + CHUNK).arrayBuffer());
        await ui.client.call('library.importChunk', { uploadId, offset: off, data: base64(bytes) });
        setProgress(`Sending ${file.name}: ${Math.floor((100 * Math.min(off + CHUNK, file.size)) / file.size)}%`);
      }
      setProgress(`Verifying ${file.name}…`);
      const id = uploadId;
      uploadId = undefined; // the core owns it now: it cleans up whatever the outcome
      const r = await ui.client.call('library.importEnd', { uploadId: id });
      setOutcome({ ok: true, text: `${r.alreadyPresent ? 'Already in the' : 'Verified and added to the'} ${r.entry.kind} library: ${r.entry.product} ${r.entry.version}.` });
      setTick((t) => t + 1);
    } catch (e) {
      if (uploadId) void ui.client.call('library.importAbort', { uploadId }).catch(() => {});
      const w = errorWords(e);
      setOutcome({ ok: false, text: `Not added: ${w.message}`, code: w.code });
    } finally {
      setProgress(undefined);
    }
  }

  return (
    <section className="library page" data-testid="library">
      <h2>Bundles</h2>
      <p className="hint">
        Signed bundles this computer can write to units: golden bundles for Recover and Full unbrick, update bundles for Offline update. Each is checked against the trust store when added and
        again every time it is used.{lab ? ' Demo-lab units use the lab’s own bundles, signed under a lab-only root.' : ''}
      </p>
      <label className="add-bundle">
        Add a bundle file (.ubundle){' '}
        <input
          type="file"
          accept=".ubundle"
          data-testid="bundle-file"
          disabled={!!progress}
          onChange={(e) => {
            const f = e.target.files?.[0];
            e.target.value = '';
            if (f) void add(f);
          }}
        />
      </label>
      {progress && <p data-testid="bundle-progress">{progress}</p>}
      {outcome && (
        <p className={outcome.ok ? 'outcome ok' : 'outcome bad'} role={outcome.ok ? 'status' : 'alert'} data-testid="bundle-outcome">
          <span aria-hidden="true">{outcome.ok ? '✓ ' : '✗ '}</span>
          {outcome.text} {outcome.code && <small>({outcome.code})</small>}
        </p>
      )}
      {(
        [
          ['Golden bundles', mine(golden), 'golden', false],
          ['Update bundles', mine(updates), 'update', false],
          ...(lab
            ? ([
                ['Demo lab: golden bundles', labs(golden), 'lab-golden', true],
                ['Demo lab: update bundles', labs(updates), 'lab-update', true],
              ] as const)
            : []),
        ] as const
      ).map(([title, list, key, isLab]) => {
        const kind = key.endsWith('golden') ? 'golden' : 'update';
        return (
          <div key={key}>
            <h3>
              {title}
              {isLab && <span className="source-lab">LAB</span>}
            </h3>
            {isLab && <p className="hint">Signed under the lab-only root; only demo-lab units take them. Recover, Full unbrick and Offline update on a lab unit write these.</p>}
            {list.length === 0 ? (
              <p className="empty" data-testid={`library-${key}-empty`}>
                {isLab ? 'None.' : `None yet. Add a bundle file above; ${kind === 'golden' ? 'Recover and Full unbrick' : 'Offline update'} on real units can use it then.`}
              </p>
            ) : (
              <Table className="bundles" testId={`library-${key}`} columns={['Product', 'Version', 'Sequence', 'Expires', 'Contents', 'Id', 'Signatures', { label: 'Remove', srOnly: true }]}>
                {list.map((e) => (
                  <tr key={e.id} data-source={e.lab ? 'lab' : 'app'}>
                    <td>
                      {e.product}
                      {e.lab && <span className="source-lab">LAB</span>}
                    </td>
                    <td>{formatVersion(e.version)}</td>
                    <td>{e.sequence}</td>
                    <td>{e.expires.slice(0, 10)}</td>
                    <td>
                      {e.payloads.map((p) => `${p.name}${p.version ? ` ${formatVersion(p.version)}` : ''} → ${formatTarget(p.target)}`).join(', ')}
                      {e.provenance && (
                        <div className="muted" data-testid={`provenance-${e.id.slice(0, 12)}`}>
                          from {e.provenance.system}: {Object.entries(e.provenance.identifiers).slice(0, 3).map(([k, v]) => `${k} ${v}`).join(', ')}; proved by {e.provenance.proof}
                        </div>
                      )}
                    </td>
                    <td>
                      <code>{e.id.slice(0, 12)}</code>
                    </td>
                    <td data-testid={`check-${e.id.slice(0, 12)}`}>
                      {e.lab ? (
                        <span>checked by the lab when used</span>
                      ) : checks[e.id] ? (
                        <span className={checks[e.id]!.ok ? 'ok' : 'bad'}>{checks[e.id]!.ok ? '✓ verified just now' : `✗ BAD: ${checks[e.id]!.message} (${checks[e.id]!.code})`}</span>
                      ) : (
                        <button onClick={() => void check(kind, e.id)}>Check now</button>
                      )}
                    </td>
                    <td>
                      {!e.lab && (
                        <button className="danger" data-testid={`remove-${e.id.slice(0, 12)}`} aria-label={`Remove ${e.product} ${e.version}`} onClick={() => void remove(kind, e)}>
                          Remove
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </Table>
            )}
          </div>
        );
      })}
      <TrustRoots ui={ui} onChange={() => setTick((t) => t + 1)} />
    </section>
  );
}
