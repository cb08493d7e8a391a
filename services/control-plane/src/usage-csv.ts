import type { Response } from 'express';
import type { Logger } from 'pino';

/** One CSV field before encoding: null is an empty field. */
export type CsvCell = string | number | boolean | null;

/** A CSV column: its header and how a row fills it. */
export interface CsvColumn<T> {
  header: string;
  value: (row: T) => CsvCell;
}

/**
 * Text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a leading tab or carriage
 * return). Model names and request ids come from API clients, so a file opened in Excel must not
 * execute them; such text is prefixed with `'` (OWASP's CSV-injection advice).
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** One RFC 4180 field: quoted when it holds a comma, a quote, CR or LF, with quotes doubled. */
export function csvCell(value: CsvCell): string {
  if (value === null) return '';
  if (typeof value !== 'string') return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV record, CRLF-terminated as RFC 4180 says. */
export function csvLine(cells: readonly CsvCell[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

export function csvHeaderLine<T>(columns: readonly CsvColumn<T>[]): string {
  return csvLine(columns.map((c) => c.header));
}

export function csvRowLine<T>(columns: readonly CsvColumn<T>[], row: T): string {
  return csvLine(columns.map((c) => c.value(row)));
}

/**
 * Streams a CSV attachment: `produce` is called with a `write` that respects backpressure (it waits
 * while the socket's buffer is full) and resolves false once the client went away, so a producer that
 * pages through the database stops instead of reading rows nobody receives. A failure before the
 * first byte is thrown (the error handler answers it); after it, the download is cut and logged.
 */
export async function sendCsv(
  res: Response,
  filename: string,
  logger: Logger,
  produce: (write: (text: string) => Promise<boolean>) => Promise<void>,
): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${filename}"`);
  const write = async (text: string): Promise<boolean> => {
    if (res.destroyed || res.writableEnded) return false;
    if (!res.write(text)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
    return !res.destroyed;
  };
  try {
    await produce(write);
  } catch (err) {
    if (!res.headersSent) {
      res.removeHeader('Content-Disposition');
      throw err;
    }
    // The status line is sent: all that is left is to cut the download, so the client sees it failed.
    logger.error({ err, filename }, 'CSV export failed midway; the download was cut');
    res.destroy();
    return;
  }
  res.end();
}
