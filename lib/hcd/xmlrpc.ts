// XML-RPC encoding and decoding (homematic-xmlrpc, the maintained fork of node-xmlrpc): a
// methodCall document out, a methodResponse in, told apart as a value, a fault, or a malformed
// answer. The HTTP side lives in transport.ts.

import { Readable } from 'node:stream';
import * as serializer from 'homematic-xmlrpc/lib/serializer.js';
import Deserializer from 'homematic-xmlrpc/lib/deserializer.js';

export type XmlRpcParam = string | number | boolean | Buffer;

export function encodeCall(method: string, params: readonly XmlRpcParam[]): string {
  return serializer.serializeMethodCall(method, [...params]);
}

export type XmlRpcAnswer =
  | { kind: 'value'; value: unknown }
  | { kind: 'fault'; code: string; text: string }
  | { kind: 'malformed'; reason: string };

/** Decode a methodResponse body; never throws. */
export function decodeResponse(body: Buffer | string): Promise<XmlRpcAnswer> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (a: XmlRpcAnswer): void => {
      if (!settled) {
        settled = true;
        resolve(a);
      }
    };
    try {
      new Deserializer('utf8').deserializeMethodResponse(
        Readable.from([Buffer.isBuffer(body) ? body : Buffer.from(body)]),
        (err, value) => {
          if (!err) return settle({ kind: 'value', value });
          const f = err as { faultCode?: unknown; faultString?: unknown };
          if (f.faultCode !== undefined || f.faultString !== undefined) {
            return settle({ kind: 'fault', code: String(f.faultCode ?? '?'), text: String(f.faultString ?? '') });
          }
          settle({ kind: 'malformed', reason: err.message });
        },
      );
    } catch (e) {
      settle({ kind: 'malformed', reason: (e as Error).message });
    }
  });
}
