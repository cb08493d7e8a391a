import type { Router } from 'express';
import { costNano, findPrice, formatUsd, NotFoundError, RATIO_ONE } from '@switchyard/core';
import type { AdminContext } from './admin-context.js';
import { parseInput } from './admin-errors.js';
import { unknownGroup } from './group-repository.js';
import { priceListQuery, pricePath, pricePutInput, quoteQuery } from './price-input.js';
import { toModelPrice } from './price-repository.js';
import { toPriceView, type QuoteView } from './price-view.js';

function priceNotFound(model: string): NotFoundError {
  return new NotFoundError(`No price for model '${model}'.`, 'price_not_found', 'model');
}

/**
 * `/prices`: what each model costs (nano-USD in the database, USD decimal strings here). The relays
 * price every request from the snapshot's `prices`, so every write republishes it before answering.
 * `{model}` may hold `/`, `:` and `*`; clients percent-encode `/` (`%2F`), as for model aliases.
 */
export function registerPriceRoutes(router: Router, ctx: AdminContext): void {
  router.get('/prices', async (req, res) => {
    const { q } = parseInput(priceListQuery, req.query, 'query');
    const prices = await ctx.prices.list(q);
    res.json({ data: prices.map(toPriceView) });
  });

  router.get('/prices/:model', async (req, res) => {
    const price = await ctx.prices.get(req.params.model);
    if (price === undefined) throw priceNotFound(req.params.model);
    res.json(toPriceView(price));
  });

  router.put('/prices/:model', async (req, res) => {
    const { model } = parseInput(pricePath, { model: req.params.model }, 'query');
    const input = parseInput(pricePutInput, req.body, 'body');
    const result = await ctx.prices.put(
      {
        model,
        inputNano: input.input_per_million,
        outputNano: input.output_per_million,
        cachedInputNano: input.cached_input_per_million ?? null,
        reasoningNano: input.reasoning_per_million ?? null,
        perRequestNano: input.per_request ?? 0,
        perImageNano: input.per_image ?? 0,
      },
      ctx.now(),
    );
    await ctx.publish();
    ctx.logger.info({ model, created: result.created }, 'model price saved');
    res.status(result.created ? 201 : 200).json(toPriceView(result.price));
  });

  router.delete('/prices/:model', async (req, res) => {
    const model = req.params.model;
    if (!(await ctx.prices.delete(model))) throw priceNotFound(model);
    await ctx.publish();
    ctx.logger.info({ model }, 'model price deleted');
    res.status(204).end();
  });

  router.get('/prices/:model/quote', async (req, res) => {
    const model = req.params.model;
    const query = parseInput(quoteQuery, req.query, 'query');
    let ratioPpm = RATIO_ONE;
    if (query.group !== undefined) {
      const group = await ctx.groups.get(query.group);
      if (group === undefined) throw unknownGroup(query.group);
      ratioPpm = group.ratioPpm;
    }
    // The same lookup and arithmetic the relays apply to a request for `model`.
    const price = findPrice((await ctx.prices.list()).map(toModelPrice), model, null);
    if (price === null) throw priceNotFound(model);
    const cost = costNano(
      price,
      {
        promptTokens: query.prompt_tokens ?? 0,
        completionTokens: query.completion_tokens ?? 0,
        cachedTokens: query.cached_tokens ?? 0,
        reasoningTokens: query.reasoning_tokens ?? 0,
        images: query.images ?? 0,
      },
      ratioPpm,
    );
    const body: QuoteView = { model, matched: price.model, cost: formatUsd(cost) };
    res.json(body);
  });
}
