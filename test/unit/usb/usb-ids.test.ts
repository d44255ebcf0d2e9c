import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identifyUsb } from '../../../src/transport/usb-ids.ts';
import { installUdevRules, udevRules } from '../../../src/transport/udev-rules.ts';
import { linkSerialPorts } from '../../../src/transport/usb.ts';

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

test('USB devices are tied to the serial ports they provide, by VID/PID and serial number', () => {
  const adapter = (serialNumber?: string) => ({ id: '0403:6001', vendorId: 0x0403, productId: 0x6001, role: 'usb-serial' as const, name: 'FTDI', ...(serialNumber ? { serialNumber } : {}) });
  const dfu = { id: '0483:df11', vendorId: 0x0483, productId: 0xdf11, role: 'stm32-dfu' as const, name: 'DFU' };
  const ports = [
    { path: '/dev/ttyUSB0', vendorId: '0403', productId: '6001', serialNumber: 'A1' },
    { path: '/dev/ttyUSB1', vendorId: '0403', productId: '6001', serialNumber: 'B2' },
  ];
  const linked = linkSerialPorts([adapter('B2'), adapter('A1'), dfu], ports);
  assert.deepEqual(linked.map((d) => d.serialPort), ['/dev/ttyUSB1', '/dev/ttyUSB0', undefined]);
  // One adapter without a serial number, one port with its IDs: still tied.
  assert.equal(linkSerialPorts([adapter()], [ports[0]!])[0]!.serialPort, '/dev/ttyUSB0');
});
