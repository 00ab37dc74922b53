#!/usr/bin/env node
import { run } from '../dist/lib/cli/run.js';
import { main } from '../dist/lib/commands/meter-label.js';
await run('meter-label', main);
