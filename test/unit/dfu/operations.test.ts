import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDfuseSimulator } from '../../../src/sim/dfuse/index.ts';
import { openDfuSession } from '../../../src/dfu/session.ts';
import { identifyDfu, readOptionBytes, readUnprotect, writeFlash, writeOptionBytes, readFlash } from '../../../src/dfu/operations.ts';
import { UnbrickError } from '../../../src/core/errors.ts';
import type { RDP2_CONFIRMATION } from '../../../src/stm32/option-bytes/index.ts';

const typed = (code: string) => (e: unknown) => e instanceof UnbrickError && e.code === code;
const open = async (chip = 'f405') => {
  const s = createDfuseSimulator({ chip, timeScale: 0.01 });
  return { ...s, session: await openDfuSession(s.usb) };
};

for (const [alias, pid] of [['f405', 0x413], ['l476', 0x415], ['g071', 0x460]] as const) {
  test(`identify recognises ${alias} from its memory layout alone (PID 0x${pid.toString(16)})`, async () => {
    const { session } = await open(alias);
    const id = await identifyDfu(session);
    assert.ok(id.candidates.some((c) => c.pid === `0x${pid.toString(16)}`), JSON.stringify(id.candidates));
    // Look-alike parts (F20x and F405, say) store option bytes the same way, so they still decode.
    const { optionBytes } = await readOptionBytes(session);
    assert.equal(optionBytes.rdp.level, 0);
    assert.equal(id.readProtected, false);
  });
}

test('identify reports read protection without failing', async () => {
  const { session, chip } = await open();
  chip.setReadoutProtect();
  chip.loadOptions();
  const id = await identifyDfu(session);
  assert.equal(id.readProtected, true);
});

test('writeFlash verifies by read-back and names the first bad address when sectors are write-protected', async () => {
  const { session, chip } = await open();
  chip.setWriteProtect([1]);
  chip.loadOptions();
  const data = new Uint8Array(0x8000).map((_, i) => i & 0xff); // sectors 0 and 1
  await assert.rejects(writeFlash(session, [{ address: 0x08000000, data }]), (e: unknown) => typed('dfu.verify-failed')(e) && (e as UnbrickError).details?.address === 0x08004000);
  // Unprotected, the same write verifies.
  chip.clearWriteProtect();
  chip.loadOptions();
  const r = await writeFlash(session, [{ address: 0x08000000, data }]);
  assert.deepEqual(r, { bytes: data.length, segments: 1, verified: true });
  assert.deepEqual(await readFlash(session, 0x08000000, data.length), data);
});

test('a file that does not fit is refused before anything is erased', async () => {
  const { session, chip } = await open();
  chip.flash.program(0, new Uint8Array([0x12]));
  await assert.rejects(writeFlash(session, [{ address: 0x08000000, data: new Uint8Array(16) }, { address: 0x08200000, data: new Uint8Array(16) }]), typed('dfu.outside-memory'));
  assert.equal(chip.flash.read(0, 1)[0], 0x12);
});

test('read-unprotect needs the mass-erase confirmation; with it, flash is erased and RDP is 0', async () => {
  const { session, chip } = await open();
  chip.flash.program(0, new Uint8Array([1, 2, 3]));
  chip.setReadoutProtect();
  chip.loadOptions();
  await assert.rejects(readUnprotect(session, { confirmMassErase: false }), typed('dfu.confirm-required'));
  assert.equal(chip.rdpLevel, 1);
  await readUnprotect(session, { confirmMassErase: true });
  assert.equal(chip.rdpLevel, 0);
  assert.equal(chip.flash.isErased(0, 16), true);
});

test('option bytes: RDP level 2 is refused without the exact confirmation, and nothing is written', async () => {
  const { session, chip } = await open();
  const before = chip.optionImage.slice();
  const { optionBytes } = await readOptionBytes(session);
  const level2 = { ...optionBytes, rdp: { raw: 0xcc, level: 2 as const } };
  await assert.rejects(writeOptionBytes(session, level2), (e: unknown) => e instanceof UnbrickError && e.kind === 'usage');
  await assert.rejects(writeOptionBytes(session, level2, { confirmRdpLevel2: 'yes' as typeof RDP2_CONFIRMATION }), (e: unknown) => e instanceof UnbrickError);
  assert.deepEqual(chip.optionImage, before);
});

test('option bytes: RDP 1 written over DFU takes effect after the reset, and the device then reports protection', async () => {
  const { session, chip, usb } = await open();
  const { optionBytes } = await readOptionBytes(session);
  await writeOptionBytes(session, { ...optionBytes, rdp: { raw: 0x55, level: 1 } });
  assert.equal(chip.rdpLevel, 1);
  const id = await identifyDfu(await openDfuSession(usb.reconnect()!));
  assert.equal(id.readProtected, true);
});
