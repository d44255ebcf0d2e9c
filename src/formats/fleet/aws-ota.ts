/**
 * AWS IoT Jobs job documents for FreeRTOS OTA (the `afr_ota` document the
 * OTA library parses: AWS IoT OTA library / Jobs-for-AWS-IoT-embedded-sdk
 * `AfrOtaJobDocumentFields_t`): per file `filepath`, `filesize`, `fileid`,
 * `certfile`, optional `fileType`/`attr`/`update_data_url`/`auth_scheme`,
 * and the code-signing signature `sig-sha256-ecdsa`: base64 of a DER
 * ECDSA P-256 signature over SHA-256 of the file. The device checks it with
 * the certificate at `certfile`; offline, Unbrick checks it with the
 * code-signing certificate the user trusts (X.509 PEM).
 * Accepted as the bare job document, or as a job execution (DescribeJobExecution
 * / `jobs/notify-next`) whose `jobDocument` it is, which adds jobId and thingName.
 */
import { verify as nodeVerify } from 'node:crypto';
import { checkError, inputError } from '../../core/errors.ts';
import { arr, json, num, obj, opt, parseAs, parseJsonAs, record, str } from '../../core/schema.ts';
import { sha256Hex, type FleetFile, type FleetRelease, type TrustedCertificate } from './release.ts';

const CODE = 'fleet.aws.invalid';

const FileSchema = obj({
  filepath: str({ min: 1, max: 1024 }),
  filesize: num({ int: true, min: 1, max: 0xffffffff }),
  fileid: num({ int: true, min: 0, max: 0xffffffff }),
  certfile: str({ min: 1, max: 1024 }),
  'sig-sha256-ecdsa': str({ min: 16, max: 1024, pattern: /^[A-Za-z0-9+/=\s]+$/ }),
  fileType: opt(num({ int: true, min: 0, max: 0xffffffff })),
  attr: opt(num({ int: true, min: 0, max: 0xffffffff })),
  update_data_url: opt(str({ max: 4096 })),
  auth_scheme: opt(str({ max: 4096 })),
});
const DocumentSchema = obj({
  afr_ota: obj({
    protocols: opt(arr(str({ max: 16 }), { max: 4 })),
    streamname: opt(str({ max: 256 })),
    files: arr(FileSchema, { min: 1, max: 16 }),
  }),
});
const ExecutionSchema = obj({
  execution: obj({
    jobId: str({ min: 1, max: 64, pattern: /^[a-zA-Z0-9_-]+$/ }),
    thingName: opt(str({ min: 1, max: 128 })),
    status: opt(str({ max: 32 })),
    statusDetails: opt(record(str({ max: 1024 }), { max: 10 })),
    queuedAt: opt(num()),
    startedAt: opt(num()),
    lastUpdatedAt: opt(num()),
    versionNumber: opt(num()),
    executionNumber: opt(num()),
    jobDocument: DocumentSchema,
  }),
  timestamp: opt(num()),
  clientToken: opt(str({ max: 64 })),
  meta: opt(json()),
});

export type AwsOtaFile = { fileid: number; filepath: string; filesize: number; certfile: string };

/** Reads the job document (JSON text): the files it names, before any file is checked. */
export function readAwsJobDocument(text: string, what = 'AWS IoT job document'): { jobId?: string; thingName?: string; streamName?: string; files: (AwsOtaFile & { signature: string })[] } {
  // A job execution wraps the document; which one it is decides the schema, so a misspelt key is named precisely.
  const raw = parseJsonAs(json(), text, { what, code: CODE, maxChars: 1 << 20 });
  const isExecution = raw !== null && typeof raw === 'object' && !Array.isArray(raw) && 'execution' in raw;
  const exec = isExecution ? parseAs(ExecutionSchema, raw, { what, code: CODE }).execution : undefined;
  const doc = exec ? exec.jobDocument : parseAs(DocumentSchema, raw, { what, code: CODE });
  const ids = new Set<number>();
  for (const f of doc.afr_ota.files) {
    if (ids.has(f.fileid)) throw inputError(CODE, `${what}: fileid ${f.fileid} appears twice.`);
    ids.add(f.fileid);
  }
  return {
    ...(exec ? { jobId: exec.jobId, ...(exec.thingName ? { thingName: exec.thingName } : {}) } : {}),
    ...(doc.afr_ota.streamname ? { streamName: doc.afr_ota.streamname } : {}),
    files: doc.afr_ota.files.map((f) => ({ fileid: f.fileid, filepath: f.filepath, filesize: f.filesize, certfile: f.certfile, signature: f['sig-sha256-ecdsa'] })),
  };
}

export interface AwsOtaOptions {
  certificate: TrustedCertificate;
  /** The files' bytes by fileid (read by the caller from where the technician has them). */
  files: Map<number, Uint8Array>;
  /** The time the certificate must be valid at (ms). */
  now: number;
  jobId?: string;
}

/** Checks every file of the job document: present, of the size it states, and signed by the trusted certificate's key. */
export function readAwsOtaJob(text: string, opts: AwsOtaOptions): FleetRelease {
  const doc = readAwsJobDocument(text);
  const cert = opts.certificate;
  const key = cert.cert.publicKey;
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw checkError('fleet.aws.certificate-key', `The code-signing certificate ${cert.subject} does not hold an ECDSA P-256 key; FreeRTOS OTA's sig-sha256-ecdsa needs one.`);
  if (opts.now < Date.parse(cert.cert.validFrom) || opts.now > Date.parse(cert.cert.validTo))
    throw checkError('fleet.aws.certificate-expired', `The code-signing certificate ${cert.subject} is valid from ${cert.cert.validFrom} to ${cert.cert.validTo}, not now. Get the fleet's current certificate (if the laptop clock is wrong, correct it).`);
  const files: FleetFile[] = [];
  for (const f of doc.files) {
    const data = opts.files.get(f.fileid);
    if (!data) throw inputError('fleet.aws.file-missing', `The job document names file ${f.fileid} (${f.filepath}); give its bytes (--aws-file ${f.fileid}=PATH).`, { fileid: f.fileid });
    if (data.length !== f.filesize)
      throw checkError('fleet.aws.size-mismatch', `File ${f.fileid} (${f.filepath}) is ${data.length} bytes; the job document says ${f.filesize}. It is not the file the job was made with.`, { fileid: f.fileid });
    const sig = Buffer.from(f.signature.replace(/\s+/g, ''), 'base64');
    let ok: boolean;
    try {
      ok = nodeVerify('sha256', data, { key, dsaEncoding: 'der' }, sig);
    } catch {
      ok = false; // not a DER signature at all
    }
    if (!ok)
      throw checkError(
        'fleet.aws.signature-invalid',
        `File ${f.fileid} (${f.filepath}) does not match its sig-sha256-ecdsa with the trusted code-signing certificate ${cert.subject}: the file or the job document was changed, or another key signed it. Refusing it.`,
        { fileid: f.fileid },
      );
    files.push({ name: f.filepath.split('/').pop() || `file${f.fileid}`, data, sha256: sha256Hex(data) });
  }
  const jobId = opts.jobId ?? doc.jobId;
  return {
    files,
    provenance: {
      system: 'aws-iot-ota',
      identifiers: {
        ...(jobId ? { jobId } : {}),
        ...(doc.thingName ? { thingName: doc.thingName } : {}),
        ...(doc.streamName ? { streamname: doc.streamName } : {}),
        ...Object.fromEntries(doc.files.map((f) => [`file:${f.fileid}`, f.filepath])),
      },
      targets: [],
      proof: { method: 'aws-code-signing', algorithm: 'ECDSA P-256 SHA-256 (sig-sha256-ecdsa)', fingerprint: cert.fingerprint, subject: cert.subject.slice(0, 512) },
    },
  };
}
