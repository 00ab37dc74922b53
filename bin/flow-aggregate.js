#!/usr/bin/env node
import { run } from '../dist/lib/cli/run.js';
import { main } from '../dist/lib/commands/flow-aggregate.js';
await run('flow-aggregate', main);
