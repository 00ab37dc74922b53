#!/usr/bin/env node
import { run } from '../dist/lib/cli/run.js';
import { main } from '../dist/lib/commands/hcd-putfile.js';
await run('hcd-putfile', main);
