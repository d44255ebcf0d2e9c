/**
 * A vendor's own tools: a bundle made only from docs/bundle-format.md with
 * Python's standard library (canonical JSON, zipfile) and the OpenSSL command
 * line (Ed25519 and ECDSA P-256 signatures over the DSSE PAE) verifies in
 * Unbrick with a 2-of-2 release threshold. Skipped where python3 or openssl
 * is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { exportPrivatePem, generateKey } from '../../../src/crypto/keys.ts';
import { checkBundle } from '../../../src/trust/check.ts';
import { Lab, makeVendor, CLASS_ID, VENDOR_ID, VECTORS, T0, DAY } from './fixture.ts';

const have = (cmd: string, arg: string) => spawnSync(cmd, [arg], { encoding: 'utf8' }).status === 0;
const tools = have('python3', '--version') && have('openssl', 'version');

const SCRIPT = String.raw`
import base64, hashlib, json, os, subprocess, sys, zipfile
out, vectors, ed_pem, p256_pem, vendor, klass = sys.argv[1:7]
def keyid(pem):
    der = subprocess.run(["openssl", "pkey", "-in", pem, "-pubout", "-outform", "DER"], check=True, capture_output=True).stdout
    return hashlib.sha256(der).hexdigest()
manifest = json.load(open(os.path.join(vectors, "manifest.json")))
img = next(i for i in manifest["images"] if i["id"] == "ed25519_basic")
image = open(os.path.join(vectors, img["file"]), "rb").read()
image_key = hashlib.sha256(open(os.path.join(vectors, "keys/ed25519-a.pub.der"), "rb").read()).hexdigest()
region = bytes(range(256)) * 64
md = {"type": "unbrick.bundle", "specVersion": 1, "kind": "update",
      "product": {"vendorId": vendor, "classId": klass, "name": "Gateway", "hardwareRevisions": ["C"]},
      "version": "1.2.3", "sequence": 3, "created": "2026-06-01T00:00:00Z", "expires": "2026-12-01T00:00:00Z",
      "releaseNotes": "made with python + openssl",
      "payloads": [
        {"name": "app.bin", "role": "mcuboot-image", "target": {"kind": "smp", "image": 0, "slot": 1},
         "size": len(image), "sha256": hashlib.sha256(image).hexdigest(), "version": "1.2.3+4",
         "imageKey": image_key, "imageHash": img["decoded"]["semantic"]["image_hash"]["value_hex"]},
        {"name": "region.bin", "role": "stm32-region", "target": {"kind": "address", "address": 134479872},
         "size": len(region), "sha256": hashlib.sha256(region).hexdigest()}]}
M = json.dumps(md, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
ptype = b"application/vnd.unbrick.bundle+json"
pae = b"DSSEv1 %d %s %d %s" % (len(ptype), ptype, len(M), M)
open(out + ".pae", "wb").write(pae)
subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", ed_pem, "-in", out + ".pae", "-out", out + ".ed"], check=True)
subprocess.run(["openssl", "dgst", "-sha256", "-sign", p256_pem, "-out", out + ".p256", out + ".pae"], check=True)
env = {"payload": base64.b64encode(M).decode(), "payloadType": ptype.decode(), "signatures": [
    {"keyid": keyid(ed_pem), "sig": base64.b64encode(open(out + ".ed", "rb").read()).decode()},
    {"keyid": keyid(p256_pem), "sig": base64.b64encode(open(out + ".p256", "rb").read()).decode()}]}
with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
    z.writestr("payloads/", b"")
    z.writestr("metadata.dsse.json", json.dumps(env))
    z.writestr("payloads/app.bin", image)
    z.writestr(zipfile.ZipInfo("payloads/region.bin"), region, compress_type=zipfile.ZIP_DEFLATED)
`;

test('a bundle made with python3 + openssl from the format document verifies', { skip: tools ? false : 'python3 or openssl not installed' }, async () => {
  const lab = new Lab();
  try {
    const ed = generateKey('ed25519');
    const p256 = generateKey('ecdsa-p256');
    const v = makeVendor({ releaseKeys: [ed, p256], releaseThreshold: 2 });
    lab.trust(v);
    const edPem = lab.file('ed.pem', exportPrivatePem(ed));
    const p256Pem = lab.file('p256.pem', exportPrivatePem(p256));
    const script = lab.file('make.py', SCRIPT);
    const out = `${lab.dir}/vendor.ubundle`;
    const r = spawnSync('python3', [script, out, VECTORS, edPem, p256Pem, VENDOR_ID, CLASS_ID], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const res = await checkBundle(out, { dir: lab.dataDir, clock: T0 + DAY, device: { classId: CLASS_ID, hardwareRevision: 'C' } });
    assert.deepEqual(res.report.signatures.map((s) => s.status), ['valid', 'valid']);
    assert.equal(res.report.payloads[0]!.version, '1.2.3+4');
    assert.equal(res.report.payloads.length, 2);
  } finally {
    lab.cleanup();
  }
});
