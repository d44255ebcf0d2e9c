import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identifyUsb } from '../../../src/transport/usb-ids.ts';
import { installUdevRules, udevRules } from '../../../src/transport/udev-rules.ts';

test('known adapters and bootloaders are named by role', () => {
  assert.equal(identifyUsb(0x0483, 0xdf11).role, 'stm32-dfu');
  assert.equal(identifyUsb(0x0483, 0x374b).role, 'stlink');
  for (const [vid, pid] of [[0x0403, 0x6001], [0x10c4, 0xea60], [0x1a86, 0x7523], [0x067b, 0x2303]] as const)
    assert.equal(identifyUsb(vid, pid).role, 'usb-serial', `${vid.toString(16)}:${pid.toString(16)}`);
  assert.equal(identifyUsb(0x2fe3, 0x0100).role, 'cdc-acm');
});

test('an unknown device with a CDC ACM interface is a serial device; otherwise unknown, vendor named', () => {
  assert.equal(identifyUsb(0x1234, 0x5678, { cdcAcm: true }).role, 'cdc-acm');
  const st = identifyUsb(0x0483, 0x1111);
  assert.equal(st.role, 'unknown');
  assert.match(st.name, /STMicroelectronics/);
});

test('udev rules cover the DFU bootloader, and --install writes them where told', () => {
  const rules = udevRules();
  assert.match(rules, /ATTR\{idVendor\}=="0483", ATTR\{idProduct\}=="df11".*TAG\+="uaccess"/);
  assert.doesNotMatch(rules, /0403/, 'serial adapters need the dialout group, not a rule');
  const path = join(mkdtempSync(join(tmpdir(), 'udev-')), '60-unbrick.rules');
  installUdevRules(path, { reload: false });
  assert.equal(readFileSync(path, 'utf8'), rules);
});
