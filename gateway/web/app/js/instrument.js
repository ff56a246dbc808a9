// One instrument: live price, candle chart with an interval switch, the user's alert levels
// drawn as lines, and the alert editor (new, or `#/i/SYM/edit/ID`).

import { get, authed } from './api.js';
import { instruments } from './catalogue.js';
import { candleChart, INTERVALS } from './chart.js';
import { h, clear, field, select } from './dom.js';
import { alertEditor } from './editor.js';
import * as format from './format.js';
import * as live from './live.js';
import * as session from './session.js';
import { toast } from './toast.js';

const LEVEL_COLORS = { active: '#0b5cad', paused: '#7b8794' };

export async function instrumentPage(main, symbol, editId) {
  const error = h('p', { class: 'error', role: 'alert' });
  clear(main, error);
  const catalogue = await instruments().catch((failure) => { error.textContent = failure.message; return null; });
  const instrument = catalogue && catalogue.get(symbol);
  if (!instrument) {
    if (catalogue) error.textContent = `Unknown instrument: ${symbol}`;
    return () => {};
  }
  const livePrice = h('span', { class: 'live-price', id: 'live-price' }, '—');
  const stats = h('p', { class: 'stats' });
  const interval = select('interval', INTERVALS.map((i) => [i, i]), '1m');
  const chartBox = h('div', { class: 'chart', id: 'chart', role: 'img', 'aria-label': 'Candle chart, loading' });
  const alertsBox = h('section', { class: 'card', 'aria-labelledby': 'my-levels' });
  const editorBox = h('div');
  clear(main,
    h('h1', {}, `${instrument.name} `, h('span', { class: 'symbol' }, instrument.symbol)),
    h('p', { class: 'quote' }, livePrice, ' ', h('span', { class: 'currency' }, instrument.currency)),
    stats, error,
    h('div', { class: 'row' }, field('Interval', interval)),
    chartBox, alertsBox, editorBox);

  let chart;
  try {
    chart = await candleChart(chartBox, instrument);
  } catch (failure) {
    error.textContent = `The chart could not be drawn: ${failure.message}`;
    return () => {};
  }
  let userLevels = [];
  let draftLevels = [];
  const drawLevels = () => chart.setLevels([...userLevels, ...draftLevels]);

  const loadHistory = async () => {
    try {
      const asked = interval.value;
      const history = await get(`/prices/${encodeURIComponent(symbol)}/history?interval=${asked}&limit=300`);
      // Switched again while this answer was on its way: the newer request draws.
      if (asked === interval.value) chart.setCandles(history.candles, asked);
    } catch (failure) {
      error.textContent = failure.message;
    }
  };
  interval.addEventListener('change', loadHistory);
  await loadHistory();

  get(`/prices/${encodeURIComponent(symbol)}/stats`).then((s) => {
    stats.textContent = `24h ${format.percent(s.change_24h_percent)} · high ${format.price(s.high_24h, instrument)} · low ${format.price(s.low_24h, instrument)}`;
  }).catch(() => {});

  let editor = null;
  const showAlerts = async () => {
    if (!session.signedIn()) {
      clear(alertsBox, h('h2', { id: 'my-levels' }, 'Alerts'),
        h('p', {}, h('a', { href: '#/signin' }, 'Sign in'), ' to set an alert on ', symbol, '.'));
      return;
    }
    try {
      const mine = await authed.get(`/alerts?symbol=${encodeURIComponent(symbol)}&limit=100`);
      userLevels = mine.filter((a) => a.condition !== 'percent_move' && String(a.id) !== String(editId)).flatMap((a) => {
        const color = a.active ? LEVEL_COLORS.active : LEVEL_COLORS.paused;
        const lines = [{ price: a.target_price, title: `#${a.id} ${a.condition}`, color }];
        if (a.target_price_high !== null) lines.push({ price: a.target_price_high, title: `#${a.id} high`, color });
        return lines;
      });
      drawLevels();
      clear(alertsBox, h('h2', { id: 'my-levels' }, `Your alerts on ${symbol}`),
        mine.length === 0 ? h('p', {}, 'None yet.') : h('ul', {}, mine.map((a) => h('li', {},
          format.describeAlert(a, instrument), a.active ? '' : ' (paused)', ' · ',
          h('a', { href: `#/i/${encodeURIComponent(symbol)}/edit/${a.id}` }, 'edit')))));
      return mine;
    } catch (failure) {
      error.textContent = failure.message;
      return [];
    }
  };

  const mine = await showAlerts();
  if (session.signedIn()) {
    const existing = editId ? (mine || []).find((a) => String(a.id) === String(editId)) : null;
    if (editId && !existing) error.textContent = `Alert #${editId} not found`;
    editor = alertEditor(instrument, existing, {
      levels: (list) => { draftLevels = list; drawLevels(); },
      fires: (fires) => chart.markFires(fires),
      saved: (alert, warnings) => {
        toast(`Alert #${alert.id} saved${warnings ? ` (${warnings})` : ''}`);
        if (editId) {
          location.hash = '#/alerts';
        } else {
          draftLevels = [];
          showAlerts();
          clear(editorBox, h('p', {}, 'Saved. ', h('a', { href: '#/alerts' }, 'See my alerts'), ' or ',
            h('a', { href: `#/i/${encodeURIComponent(symbol)}?new=${Date.now()}` }, 'add another')));
        }
      },
    });
    editorBox.append(editor.element);
    editor.start();
  }

  const stop = live.on('price', (tick) => {
    if (tick.symbol !== symbol || tick.price === null) return;
    livePrice.textContent = format.price(tick.price, instrument);
    livePrice.dataset.price = String(tick.price);
    chart.tick(Number(tick.price), tick.timestamp);
  });
  live.watch([symbol]);
  return () => {
    stop();
    chart.dispose();
  };
}
