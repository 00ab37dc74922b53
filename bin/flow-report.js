#!/usr/bin/env node
import { run } from '../dist/lib/cli/run.js';
import { main } from '../dist/lib/commands/flow-report.js';
await run('flow-report', main);
