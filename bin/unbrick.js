#!/usr/bin/env node
// Development entry: runs the CLI from the TypeScript sources through tsx (tests use it, so they
// see the current sources). The installed `unbrick` command is the built dist/cli/unbrick.js.
import { register } from 'tsx/esm/api';

register();
const { main, quietOnClosedPipe } = await import('../src/cli/main.ts');
quietOnClosedPipe();
process.exitCode = await main(process.argv.slice(2));
