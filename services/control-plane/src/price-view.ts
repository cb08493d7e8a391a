import { formatUsd } from '@switchyard/core';
import { toIso } from './iso-time.js';
import type { StoredPrice } from './price-repository.js';

/** A model's price as the admin API shows it: USD decimal strings. */
export interface PriceView {
  model: string;
  input_per_million: string;
  output_per_million: string;
  /** null: cached prompt tokens cost the input price. */
  cached_input_per_million: string | null;
  /** null: reasoning tokens cost the output price. */
  reasoning_per_million: string | null;
  per_request: string;
  per_image: string;
  /** 'file' when a configuration file manages the price (the next apply reverts API edits). */
  managed_by: 'file' | null;
  updated_at: string;
}

/** The answer to GET /prices/:model/quote. */
export interface QuoteView {
  /** The model asked about. */
  model: string;
  /** The price row that applies (the model itself, or the longest matching glob). */
  matched: string;
  /** What a request with those counts costs, USD. */
  cost: string;
}

export function toPriceView(price: StoredPrice): PriceView {
  return {
    model: price.model,
    input_per_million: formatUsd(price.inputNano),
    output_per_million: formatUsd(price.outputNano),
    cached_input_per_million: price.cachedInputNano === null ? null : formatUsd(price.cachedInputNano),
    reasoning_per_million: price.reasoningNano === null ? null : formatUsd(price.reasoningNano),
    per_request: formatUsd(price.perRequestNano),
    per_image: formatUsd(price.perImageNano),
    managed_by: price.managedBy,
    updated_at: toIso(price.updatedAt),
  };
}
