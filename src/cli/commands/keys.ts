/**
 * `unbrick keys generate|info`: signing and encryption keys in imgtool's formats
 * (PKCS#8 private PEM, SubjectPublicKeyInfo public PEM), interchangeable with
 * `imgtool keygen` / `imgtool getpub`.
 */
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '../../core/atomic-file.ts';
import { toHex } from '../../core/bytes.ts';
import { usageError } from '../../core/errors.ts';
import { digest } from '../../crypto/hash.ts';
import { bootloaderPrivateDer, exportCSource, exportPrivatePem, exportPublicPem, generateKey, isPrivate, KEY_TYPES, type KeyType } from '../../crypto/keys.ts';
import { choiceOpt, requirePositional, requireString, stringOpt, type CommandContext, type CommandGroup } from '../framework.ts';
import { readKeyFile } from './image.ts';
import { KEY_PASSPHRASE_OPTIONS, keyPassphrase } from '../key-passphrase.ts';

function refuseOverwrite(ctx: CommandContext, path: string) {
  if (existsSync(path) && ctx.values.force !== true) throw usageError('usage.output-exists', `${path} exists; pass --force to overwrite it (the old key would be lost).`);
}

const generateCommand = {
  name: 'generate',
  summary: 'generate a new signing or encryption key',
  description: `Writes a private key as PKCS#8 PEM (file mode 0600), like imgtool keygen. Types: ${KEY_TYPES.join(', ')} (x25519 is for image encryption).`,
  options: {
    type: { type: 'string', short: 't', value: 'TYPE', description: `key type: ${KEY_TYPES.join('|')}` },
    out: { type: 'string', short: 'o', value: 'FILE', description: 'private key file to write (PEM)' },
    'public-out': { type: 'string', value: 'FILE', description: 'also write the public key (PEM, like imgtool getpub)' },
    force: { type: 'boolean', description: 'overwrite existing files' },
  },
  async run(ctx: CommandContext) {
    const type = requireString(ctx, 'type') as KeyType;
    if (!KEY_TYPES.includes(type)) throw usageError('usage.bad-key-type', `--type must be one of ${KEY_TYPES.join(', ')}.`);
    const out = requireString(ctx, 'out');
    const pubOut = stringOpt(ctx, 'public-out');
    refuseOverwrite(ctx, out);
    if (pubOut) refuseOverwrite(ctx, pubOut);
    const key = generateKey(type);
    writeFileAtomic(out, exportPrivatePem(key));
    if (pubOut) writeFileAtomic(pubOut, exportPublicPem(key));
    return {
      data: { type, file: out, publicFile: pubOut ?? null, fingerprint: key.fingerprint },
      human: [`wrote ${type} private key to ${out}${pubOut ? ` and its public key to ${pubOut}` : ''}`, `  sha256 of the public key: ${key.fingerprint}`, '  keep the private key secret and backed up: images signed with it can only be updated with it.'],
    };
  },
};

const infoCommand = {
  name: 'info',
  summary: 'show a key: type, public key and its hashes',
  args: 'FILE',
  options: { ...KEY_PASSPHRASE_OPTIONS },
  async run(ctx: CommandContext) {
    const file = requirePositional(ctx, 0, 'FILE');
    const key = readKeyFile(file, keyPassphrase(ctx));
    const data = {
      file,
      type: key.type,
      private: isPrivate(key),
      publicKeyDer: toHex(key.publicDer),
      publicKeyPem: exportPublicPem(key),
      // KEYHASH as MCUboot computes it for each image hash algorithm.
      keyHash: { sha256: key.fingerprint, sha384: toHex(digest('sha384', key.publicDer)), sha512: toHex(digest('sha512', key.publicDer)) },
    };
    return {
      data,
      human: [`${file}: ${key.type} ${data.private ? 'private' : 'public'} key`, `  key hash (sha256): ${key.fingerprint}`, '', data.publicKeyPem.trimEnd()],
    };
  },
};

const EXPORT_FORMATS = ['pem', 'raw', 'c', 'hash', 'private-c', 'private-raw'] as const;

const exportCommand = {
  name: 'export',
  summary: 'export a key for a bootloader build or another tool (like imgtool getpub/getpubhash/getpriv)',
  args: 'FILE',
  description:
    'pem: public key PEM; raw: the exact public key bytes MCUboot embeds (DER); c: those bytes as a C array; hash: SHA-256 of them (getpubhash); private-c / private-raw: the private decryption key as the bootloader embeds it (getpriv).',
  options: {
    format: { type: 'string', short: 'f', value: 'FORMAT', description: EXPORT_FORMATS.join('|'), default: 'pem' },
    out: { type: 'string', short: 'o', value: 'FILE', description: 'write to FILE instead of stdout' },
    force: { type: 'boolean', description: 'overwrite FILE if it exists' },
    ...KEY_PASSPHRASE_OPTIONS,
  },
  async run(ctx: CommandContext) {
    const file = requirePositional(ctx, 0, 'FILE');
    const format = choiceOpt(ctx, 'format', EXPORT_FORMATS, 'pem');
    const key = readKeyFile(file, keyPassphrase(ctx));
    const content: string | Uint8Array =
      format === 'pem' ? exportPublicPem(key)
      : format === 'raw' ? key.publicDer
      : format === 'c' ? exportCSource(key, 'public')
      : format === 'hash' ? digest('sha256', key.publicDer)
      : format === 'private-c' ? exportCSource(key, 'private')
      : bootloaderPrivateDer(key);
    const out = stringOpt(ctx, 'out');
    const binary = content instanceof Uint8Array;
    if (out) {
      refuseOverwrite(ctx, out);
      writeFileAtomic(out, content);
    } else if (binary && !ctx.json && ctx.tty) throw usageError('usage.binary-to-terminal', `--format ${format} is binary: give --out FILE (or --json for hex).`);
    const data = { file, type: key.type, format, ...(out ? { out } : { content: binary ? toHex(content) : content }) };
    const human = out ? [`wrote ${format} of ${file} to ${out}`] : binary ? [] : [(content as string).trimEnd()];
    if (!out && binary && !ctx.json) process.stdout.write(content);
    return { data, human };
  },
};

export const keysGroup: CommandGroup = {
  name: 'keys',
  summary: 'generate and inspect image signing/encryption keys',
  commands: [generateCommand, infoCommand, exportCommand] as CommandGroup['commands'],
};
