// Colour decision made by us, not at chalk's import time: chalk does not honour NO_COLOR.

import { Chalk, type ChalkInstance } from 'chalk';

export type ColorChoice = boolean | undefined; // --color / --no-color / not given

/** 0 when NO_COLOR is set or --no-color; forced by --color or FORCE_COLOR; else only on a TTY. */
export function colorLevel(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, choice: ColorChoice): 0 | 1 | 2 | 3 {
  if (choice === false) return 0;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  if (choice === true) return 1;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '0' || force === 'false') return 0;
    if (force === '2') return 2;
    if (force === '3') return 3;
    return 1;
  }
  if (env.TERM === 'dumb') return 0;
  return stream.isTTY === true ? 1 : 0;
}

export function makeChalk(level: 0 | 1 | 2 | 3): ChalkInstance {
  return new Chalk({ level });
}
