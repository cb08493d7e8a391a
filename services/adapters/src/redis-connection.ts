import type { Redis } from 'ioredis';

/** Closes an ioredis connection and stops its reconnecting, whether or not it is connected now. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await redis.quit();
  } catch {
    // Not connected (QUIT cannot be sent without an offline queue, or fails mid-reconnect): drop the socket instead.
    redis.disconnect();
  }
}
