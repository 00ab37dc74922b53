// The spool (--spool DIR): files that could not be delivered, kept under names that sort
// oldest first and carry the statistics name, written atomically (temp, fsync, rename) so a
// half-written file is never sent. --flush-spool DIR sends them in that order.

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { FlowmeterError } from '../errors.js';
import { describeSystemError, writeFileAtomic } from '../cli/io.js';

export const SPOOL_NAME = /^(\d{8}T\d{9}Z-\d{4})_([0-9a-f]{12})_([A-Za-z0-9._-]+)\.hcd$/;

export interface SpoolItem {
  path: string;
  file: string;
  name: string;
  sha12: string;
}

let seq = 0;

function stamp(d: Date): string {
  const iso = d.toISOString(); // 2026-11-22T03:04:05.678Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}${iso.slice(20, 23)}Z`;
}

async function ensureDir(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new FlowmeterError(
      'cant-create',
      `--spool ${dir}: cannot create: ${describeSystemError(e as NodeJS.ErrnoException)}`,
    );
  }
}

/** Keep `content` for a later --flush-spool; returns the path written. */
export async function spoolFile(
  dir: string,
  name: string,
  sha256: string,
  content: Buffer,
  now = new Date(),
): Promise<string> {
  await ensureDir(dir);
  const existing = (await listSpool(dir)).find((i) => i.name === name && sha256.startsWith(i.sha12));
  if (existing) return existing.path; // already waiting: never queue the same content twice
  seq = (seq + 1) % 10000;
  const file = `${stamp(now)}-${String(seq).padStart(4, '0')}_${sha256.slice(0, 12)}_${name}.hcd`;
  const path = join(dir, file);
  await writeFileAtomic(path, content, 0o600);
  return path;
}

/** Spooled files, oldest first; temporary and foreign files are ignored. */
export async function listSpool(dir: string): Promise<SpoolItem[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return [];
    throw new FlowmeterError('no-input', `--spool ${dir}: ${describeSystemError(err)}`);
  }
  const items: SpoolItem[] = [];
  for (const file of names.sort()) {
    const m = SPOOL_NAME.exec(file);
    if (m) items.push({ path: join(dir, file), file, name: m[3]!, sha12: m[2]! });
  }
  return items;
}

/** Keep stdin input that failed validation (not flushed: the name does not end in .hcd). */
export async function keepRejectedInput(dir: string, name: string, data: Buffer, now = new Date()): Promise<string> {
  await ensureDir(dir);
  seq = (seq + 1) % 10000;
  const path = join(dir, `${stamp(now)}-${String(seq).padStart(4, '0')}_${name}.rejected`);
  await writeFileAtomic(path, data, 0o600);
  return path;
}
