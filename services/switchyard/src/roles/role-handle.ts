/** A running role of the `switchyard` executable. */
export interface RoleHandle {
  role: 'all' | 'relay' | 'control-plane' | 'accounting';
  /** Its HTTP server (API, admin REST, or health and metrics). */
  url: string;
  port: number;
  /** The control plane's gRPC port. */
  grpcPort?: number;
  /** Resolves when in-flight work is done: requests answered and usage published (relay), or written (accounting). */
  idle?(): Promise<void>;
  /** Stops accepting, drains in-flight work, closes pools and connections. */
  close(): Promise<void>;
}
