/**
 * The checks the VM stage must report as passed. The guest suite names its checks with these, and the
 * host test requires every one of them: a check that silently did not run fails the stage.
 */
export const TEST_CHECKS = {
  dfuUtilList: 'dfu-util lists the device',
  dfuUtilDownload: 'dfu-util downloads 64 KiB',
  dfuUtilReadBack: 'dfu-util uploads and reads back the same bytes',
  unbrickIdentify: 'Unbrick identifies the device over node-usb',
  unbrickReadsDfuUtil: 'Unbrick reads what dfu-util wrote',
  unbrickWriteVerify: 'Unbrick writes with verify, erasing only the pages covered',
  dfuUtilReadsUnbrick: 'dfu-util reads what Unbrick wrote',
  unbrickTypedError: 'Unbrick gets a typed error reading outside flash, then recovers',
  unbrickOptionBytes: 'Unbrick option bytes round trip (write, device resets, read back, restore)',
  unbrickDisconnect: 'Unbrick reports a disconnect mid-write as a typed error, and the device comes back',
  cliWrite: 'unbrick dfu write (.bin, verified) and dfu-util reads it back',
} as const;
