import { randomBytes } from 'node:crypto';
import { connect } from 'nats';

/** The test NATS server (JetStream enabled); the vitest global setup makes sure it runs. */
export const NATS_TEST_URL = process.env.SWITCHYARD_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** A stream, subject and durable no other test (or a parallel test run) uses. */
export function natsTestNames(): { stream: string; subject: string; durable: string } {
  const suffix = randomBytes(6).toString('hex');
  return {
    stream: `SWITCHYARD_TEST_USAGE_${suffix}`,
    subject: `switchyard.test.usage.${suffix}`,
    durable: `accounting_${suffix}`,
  };
}

/** Deletes the given test streams (and with them their consumers); a missing one is fine. */
export async function deleteNatsStreams(streams: readonly string[]): Promise<void> {
  if (streams.length === 0) return;
  const nc = await connect({ servers: NATS_TEST_URL });
  try {
    const jsm = await nc.jetstreamManager();
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => false);
  } finally {
    await nc.close();
  }
}
