export { Accounting, type AccountingOptions } from './accounting.js';
export { UsageWriter } from './usage-writer.js';
