import type { Channel } from '@switchyard/core';

/** A channel option, or undefined when it is absent or empty (an unset form field). */
export function channelOption(channel: Channel, name: string): string | undefined {
  const v = channel.options[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}
