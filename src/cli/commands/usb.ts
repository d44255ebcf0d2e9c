import { describeUsb, linkSerialPorts, listUsbDevices, watchUsb } from '../../transport/usb.ts';
import { listPorts } from '../../transport/ports.ts';
import { installUdevRules, udevRules, UDEV_RULES_PATH } from '../../transport/udev-rules.ts';
import type { CommandGroup } from '../framework.ts';

export const usbGroup: CommandGroup = {
  name: 'usb',
  summary: 'list and watch USB devices (DFU bootloaders, ST-LINK, USB-serial adapters)',
  commands: [
    {
      name: 'list',
      summary: 'list USB devices and what each one is',
      options: { watch: { type: 'boolean', description: 'keep running and report devices as they come and go' } },
      async run(ctx) {
        const { devices, problem } = await listUsbDevices();
        const infos = linkSerialPorts(devices.map(describeUsb), devices.length ? await listPorts() : []);
        const human = infos.map((d) => `${d.id}  ${d.name}${d.serialNumber ? `  serial ${d.serialNumber}` : ''}${d.product ? `  "${d.product}"` : ''}${d.serialPort ? `  -> ${d.serialPort}` : ''}`);
        if (problem) human.push(problem);
        else if (infos.length === 0) human.push('No USB devices found.');
        if (!ctx.values.watch || problem) return { data: { devices: infos, ...(problem ? { problem } : {}) }, human };
        for (const line of human) ctx.say(line);
        // Watching: one line (or one JSON object per line with --json) per change, until Ctrl-C.
        await new Promise<void>((resolve) => {
          const stop = watchUsb((event, device) => {
            const d = describeUsb(device);
            if (ctx.json) process.stdout.write(JSON.stringify({ event, device: d }) + '\n');
            else ctx.say(`${event === 'attach' ? '+' : '-'} ${d.id}  ${d.name}`);
          });
          ctx.signal.addEventListener('abort', () => {
            stop();
            resolve();
          });
        });
        return { data: { devices: infos, watched: true } };
      },
    },
  ],
};

export const udevGroup: CommandGroup = {
  name: 'udev-rules',
  summary: 'print (or install) the Linux udev rules Unbrick needs for USB access',
  commands: [
    {
      name: 'udev-rules',
      summary: 'print (or install) the Linux udev rules Unbrick needs for USB access',
      description: [
        'On Linux, USB devices belong to root unless a udev rule hands them to the logged-in user.',
        'These rules give you access to STM32 DFU bootloaders and ST-LINK probes. USB-serial adapters',
        'need no rule: add yourself to the "dialout" group (sudo usermod -aG dialout $USER, then log in again).',
        `With --install (as root) the rules are written to ${UDEV_RULES_PATH} and udev is reloaded.`,
      ].join('\n'),
      options: { install: { type: 'boolean', description: `write the rules to ${UDEV_RULES_PATH} (needs root)` } },
      async run(ctx) {
        const rules = udevRules();
        if (!ctx.values.install) return { data: { path: UDEV_RULES_PATH, rules }, human: [rules] };
        const r = installUdevRules();
        return {
          data: { ...r, rules },
          human: [`Wrote ${r.path}.`, r.reloaded ? 'udev reloaded: unplug and replug the device.' : 'Reload udev (or reboot), then unplug and replug the device.'],
        };
      },
    },
  ],
};
