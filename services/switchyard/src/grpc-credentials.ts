import { readFileSync } from 'node:fs';
import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import type { SwitchyardConfig } from './config.js';

type Tls = SwitchyardConfig['internal']['tls'];
const read = (file: string | null): Buffer | null => (file === null ? null : readFileSync(file));

/** The control plane's gRPC server credentials: TLS with cert+key, mTLS when a CA is set too. */
export function serverCredentials(tls: Tls): ServerCredentials | undefined {
  const cert = read(tls.cert);
  const key = read(tls.key);
  if (cert === null || key === null) return undefined;
  const ca = read(tls.ca);
  return ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], ca !== null);
}

/** A relay's credentials to the control plane: TLS when a CA is set, with a client cert for mTLS. */
export function channelCredentials(tls: Tls): ChannelCredentials | undefined {
  const ca = read(tls.ca);
  if (ca === null) return undefined;
  return ChannelCredentials.createSsl(ca, read(tls.key), read(tls.cert));
}
