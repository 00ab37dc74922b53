// Types for the two modules of homematic-xmlrpc that hcd-putfile uses (the package ships none).
declare module 'homematic-xmlrpc/lib/serializer.js' {
  export type XmlRpcValue =
    string | number | boolean | null | Date | Buffer | XmlRpcValue[] | { [key: string]: XmlRpcValue };
  export function serializeMethodCall(method: string, params?: XmlRpcValue[]): string;
  export function serializeMethodResponse(result: XmlRpcValue): string;
  export function serializeFault(fault: { faultCode: number; faultString: string }): string;
}

declare module 'homematic-xmlrpc/lib/deserializer.js' {
  import type { Readable } from 'node:stream';
  interface FaultError extends Error {
    faultCode?: unknown;
    faultString?: unknown;
  }
  class Deserializer {
    constructor(encoding?: string);
    deserializeMethodResponse(
      stream: Readable,
      callback: (error: FaultError | Error | null | undefined, value?: unknown) => void,
    ): void;
  }
  export default Deserializer;
}
