// Executable entry point (bin/pxed imports this). Kept tiny so tests can import cli.ts without running it.
import { main } from './cli.js';
import { processIO } from './io.js';

process.exitCode = await main(process.argv.slice(2), processIO());
