// The 55 instruments with display names, asset classes, currencies and decimals, fetched once.

import { get } from './api.js';

let loading = null;

export function instruments() {
  if (!loading) {
    loading = get('/prices/instruments').then((list) => new Map(list.map((i) => [i.symbol, i])));
    loading.catch(() => { loading = null; });
  }
  return loading;
}

export const ASSET_CLASSES = [
  ['crypto', 'Crypto'],
  ['index', 'Indices'],
  ['commodity', 'Commodities'],
  ['stock', 'Stocks'],
];
