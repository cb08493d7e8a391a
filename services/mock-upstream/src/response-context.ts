import type { ServerResponse } from 'node:http';

/**
 * One response in flight: knows whether the client went away, and offers delays and writes that end
 * early (clearing their timers) when it does.
 */
export class ResponseContext {
  readonly res: ServerResponse;
  /** True once the connection closed (normally or not); nothing should be written after. */
  closed = false;
  private cutting = false;
  private readonly onAbort: () => void;
  private readonly closeHooks = new Set<() => void>();

  /** `onAbort` runs when the client closes the connection before the response finished. */
  constructor(res: ServerResponse, onAbort: () => void) {
    this.res = res;
    this.onAbort = onAbort;
    res.once('close', this.handleClose);
  }

  private readonly handleClose = (): void => {
    this.closed = true;
    if (!this.res.writableFinished && !this.cutting) this.onAbort();
    for (const hook of this.closeHooks) hook();
    this.closeHooks.clear();
  };

  /** Waits `ms`; resolves false (early, timer cleared) if the connection closes meanwhile. */
  sleep(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (!(ms > 0)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onClose = (): void => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.closeHooks.delete(onClose);
        resolve(!this.closed);
      }, ms);
      this.closeHooks.add(onClose);
    });
  }

  /** Writes `data`, waiting for 'drain' when the socket buffer is full; false if the connection closed. */
  write(data: string | Uint8Array): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.res.write(data)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (ok: boolean): void => {
        this.res.off('drain', onDrain);
        this.closeHooks.delete(onClose);
        resolve(ok);
      };
      const onDrain = (): void => finish(true);
      const onClose = (): void => finish(false);
      this.res.once('drain', onDrain);
      this.closeHooks.add(onClose);
    });
  }

  /**
   * Writes `data`, then closes the connection once it is flushed, without finishing the response (a
   * simulated upstream crash). Not reported as a client abort.
   */
  cut(data: string | Uint8Array): void {
    if (this.closed) return;
    this.cutting = true;
    if (data.length > 0) this.res.write(data);
    else this.res.flushHeaders();
    const socket = this.res.socket;
    if (socket) socket.destroySoon();
    else this.res.destroy();
  }
}
