/**
 * Who manages a row: 'file' when a configuration file (switchyard.yaml, `switchyard apply`) declares
 * it, so the next apply reverts admin-API edits of its declared fields; null for rows the admin API owns.
 */
export type ManagedBy = 'file' | null;

/** The `managed_by` column as the views show it (anything but 'file' reads as null). */
export function toManagedBy(column: string | null | undefined): ManagedBy {
  return column === 'file' ? 'file' : null;
}
