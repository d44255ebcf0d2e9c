/** Electron IPC channel names (shared by electron/main.ts and electron/preload.ts). */
export const IPC_REQUEST = 'unbrick:request';
export const IPC_EVENT = 'unbrick:event';
/** The app's own scheme and origin: the renderer is served from here, never from file://. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'unbrick';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
