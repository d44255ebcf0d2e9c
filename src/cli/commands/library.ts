/**
 * `unbrick golden …` and `unbrick updates …`: the libraries of verified golden
 * recovery bundles and update bundles (one implementation, one group each).
 */
import { usageError } from '../../core/errors.ts';
import { BundleLibrary, type LibraryEntry, type LibraryKind } from '../../trust/library.ts';
import { type CommandGroup, requirePositional, requireString } from '../framework.ts';

const line = (e: LibraryEntry) => `${e.id.slice(0, 12)}  ${e.product.name} ${e.version} (seq ${e.sequence}, hw ${e.product.hardwareRevisions.join('/')}, expires ${e.expires})`;

function libraryGroup(kind: LibraryKind, name: string, what: string): CommandGroup {
  return {
    name,
    summary: `the library of verified ${what}`,
    commands: [
      {
        name: 'import',
        summary: `verify a${kind === 'update' ? 'n' : ''} ${kind} bundle and add it to the library`,
        args: 'BUNDLE',
        async run(ctx) {
          const r = await new BundleLibrary(kind, { signal: ctx.signal, log: (l) => ctx.warn(`warning: ${l}`) }).import(requirePositional(ctx, 0, 'BUNDLE'));
          return { data: { entry: r.entry, alreadyPresent: r.alreadyPresent }, human: [`${r.alreadyPresent ? 'Already in the library' : 'Imported'}: ${line(r.entry)}`] };
        },
      },
      {
        name: 'list',
        summary: 'list the library, re-verifying every entry',
        async run(ctx) {
          const lib = new BundleLibrary(kind, { signal: ctx.signal });
          const statuses = [];
          for (const e of lib.entries()) statuses.push(await lib.status(e));
          const bad = statuses.filter((s) => !s.ok).length;
          return {
            exitCode: bad ? 1 : 0,
            data: { entries: statuses.map((s) => ({ ...s.entry, ok: s.ok, ...(s.code ? { error: s.code, message: s.message } : {}) })) },
            human: statuses.length ? statuses.map((s) => `${s.ok ? 'ok  ' : 'BAD '} ${line(s.entry)}${s.ok ? '' : `\n       ${s.message}`}`) : [`The ${kind} library is empty.`],
          };
        },
      },
      {
        name: 'remove',
        summary: 'remove an entry from the library',
        args: 'ID',
        async run(ctx) {
          const e = new BundleLibrary(kind).remove(requirePositional(ctx, 0, 'ID'));
          return { data: { removed: e }, human: [`Removed ${line(e)}`] };
        },
      },
      {
        name: 'match',
        summary: "which product and version is this slot's image? (by image hash or file SHA-256)",
        options: { hash: { type: 'string', value: 'HEX', description: 'the image hash the unit reports (e.g. SMP image list) or a file SHA-256' } },
        async run(ctx) {
          const hash = requireString(ctx, 'hash');
          if (!hash) throw usageError('usage.missing-option', '--hash is required.');
          const hits = await new BundleLibrary(kind, { signal: ctx.signal }).match(hash);
          const good = hits.filter((h) => h.status.ok);
          return {
            exitCode: good.length ? 0 : 1,
            data: { matches: hits.map((h) => ({ id: h.entry.id, product: h.entry.product, version: h.entry.version, payload: h.payload, ok: h.status.ok, ...(h.status.code ? { error: h.status.code, message: h.status.message } : {}) })) },
            human: hits.length
              ? hits.map((h) => `${h.status.ok ? '' : 'BAD (do not use) '}${h.entry.product.name} ${h.payload.version ?? h.entry.version} — ${h.payload.name} -> ${h.payload.target} [${h.entry.id.slice(0, 12)}]${h.status.ok ? '' : `: ${h.status.message}`}`)
              : [`No ${kind} library entry holds an image with this hash.`],
          };
        },
      },
    ],
  };
}

export const goldenGroup = libraryGroup('golden', 'golden', 'golden recovery images');
export const updatesGroup = libraryGroup('update', 'updates', 'update bundles (what Offline update installs)');
