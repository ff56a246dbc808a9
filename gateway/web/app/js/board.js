// The market board, open to everyone: the 55 instruments by asset class, live prices over the
// WebSocket, the 24-hour change from /prices/stats. Ticks are gathered and written once per
// animation frame, so 55 symbols ticking 5 times a second cost one small DOM pass per frame.

import { get } from './api.js';
import { instruments, ASSET_CLASSES } from './catalogue.js';
import { h, clear } from './dom.js';
import * as format from './format.js';
import * as live from './live.js';

const STATS_REFRESH_MS = 60000;

export async function board(main) {
  const error = h('p', { class: 'error', role: 'alert' });
  clear(main, h('h1', {}, 'Markets'), error);
  let catalogue;
  try {
    catalogue = await instruments();
  } catch (failure) {
    error.textContent = failure.message;
    return () => {};
  }
  const cells = new Map();
  const sections = ASSET_CLASSES.map(([assetClass, title]) => {
    const rows = [...catalogue.values()].filter((i) => i.asset_class === assetClass).map((instrument) => {
      const priceCell = h('td', { class: 'num price', 'data-symbol': instrument.symbol }, '—');
      const changeCell = h('td', { class: 'num change' }, '—');
      cells.set(instrument.symbol, { priceCell, changeCell, instrument });
      return h('tr', {},
        h('th', { scope: 'row' },
          h('a', { href: `#/i/${encodeURIComponent(instrument.symbol)}` },
            h('span', { class: 'symbol' }, instrument.symbol), ' ', h('span', { class: 'name' }, instrument.name))),
        priceCell, changeCell);
    });
    const headingId = `board-${assetClass}`;
    return h('section', { 'aria-labelledby': headingId },
      h('h2', { id: headingId }, title),
      h('table', { class: 'board' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Instrument'), h('th', { scope: 'col', class: 'num' }, 'Price'),
          h('th', { scope: 'col', class: 'num' }, '24h'))),
        h('tbody', {}, rows)));
  });
  main.append(h('div', { class: 'board-grid' }, sections));

  const latest = new Map();
  let frame = 0;
  let usable = false;
  const flush = () => {
    frame = 0;
    for (const [symbol, value] of latest) {
      const cell = cells.get(symbol);
      if (cell) cell.priceCell.textContent = format.price(value, cell.instrument);
    }
    latest.clear();
    if (!usable) {
      usable = true;
      // Read by the browser test as "time to usable".
      performance.mark('pricealert:usable');
      document.body.dataset.boardReady = 'true';
    }
  };
  const stop = live.on('price', (tick) => {
    latest.set(tick.symbol, tick.price);
    if (!frame) frame = requestAnimationFrame(flush);
  });
  live.watch('*');

  const showStats = async () => {
    try {
      for (const stats of await get('/prices/stats')) {
        const cell = cells.get(stats.symbol);
        if (!cell) continue;
        cell.changeCell.textContent = format.percent(stats.change_24h_percent);
        const change = Number(stats.change_24h_percent);
        cell.changeCell.dataset.direction = change > 0 ? 'up' : change < 0 ? 'down' : 'flat';
      }
    } catch (failure) {
      error.textContent = `24-hour change unavailable: ${failure.message}`;
    }
  };
  showStats();
  const statsTimer = setInterval(showStats, STATS_REFRESH_MS);
  return () => {
    stop();
    clearInterval(statsTimer);
    if (frame) cancelAnimationFrame(frame);
  };
}
