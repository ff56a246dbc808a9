// The candle chart: vendored lightweight-charts, loaded on first use so the board's first load
// does not carry it. Alert levels are price lines; backtest fires are markers.

import * as format from './format.js';

let library = null;
function load() {
  if (!library) library = import('../vendor/lightweight-charts/lightweight-charts.standalone.production.mjs');
  return library;
}

const INTERVAL_SECONDS = { '1m': 60, '5m': 300, '15m': 900, '1h': 3600, '4h': 14400, '1d': 86400 };

export const INTERVALS = Object.keys(INTERVAL_SECONDS);

const seconds = (iso) => Math.floor(Date.parse(iso) / 1000);

export async function candleChart(container, instrument) {
  const lib = await load();
  const decimals = Number.isInteger(instrument.decimals) ? instrument.decimals : 2;
  let bars = [];
  let step = 60;
  let lines = [];
  const chart = lib.createChart(container, {
    autoSize: true,
    layout: { attributionLogo: false, background: { type: lib.ColorType.Solid, color: '#ffffff' }, textColor: '#1f2933' },
    grid: { vertLines: { color: '#eef1f4' }, horzLines: { color: '#eef1f4' } },
    timeScale: { timeVisible: true, secondsVisible: false },
    localization: { priceFormatter: (value) => format.price(value, instrument) },
  });
  const series = chart.addSeries(lib.CandlestickSeries, {
    upColor: '#0a7d38', downColor: '#c62828', wickUpColor: '#0a7d38', wickDownColor: '#c62828', borderVisible: false,
    priceFormat: { type: 'price', precision: decimals, minMove: 10 ** -decimals },
    // Price lines do not count in the price scale by themselves: an alert level far from
    // the candles would sit off the chart.
    autoscaleInfoProvider: (original) => {
      const scale = original();
      const prices = lines.map((line) => line.options().price);
      if (!scale || prices.length === 0) return scale;
      return {
        ...scale,
        priceRange: {
          minValue: Math.min(scale.priceRange.minValue, ...prices),
          maxValue: Math.max(scale.priceRange.maxValue, ...prices),
        },
      };
    },
  });
  const markers = lib.createSeriesMarkers(series, []);

  const describe = () => {
    const last = bars[bars.length - 1];
    container.dataset.candles = String(bars.length);
    container.setAttribute('aria-label', last
      ? `Candle chart, ${bars.length} candles, last close ${format.price(last.close, instrument)}`
      : 'Candle chart, no history yet');
  };

  return {
    setCandles(candles, interval) {
      step = INTERVAL_SECONDS[interval] || 60;
      container.dataset.interval = interval;
      bars = candles.map((c) => ({ time: seconds(c.t), open: c.open, high: c.high, low: c.low, close: c.close }));
      series.setData(bars);
      markers.setMarkers([]);
      chart.timeScale().fitContent();
      describe();
    },
    /// A live tick: extends the open candle, or opens the next one.
    tick(price, at) {
      const time = Math.floor(seconds(at) / step) * step;
      const last = bars[bars.length - 1];
      if (last && time < last.time) return;
      if (last && time === last.time) {
        last.high = Math.max(last.high, price);
        last.low = Math.min(last.low, price);
        last.close = price;
        series.update({ ...last });
      } else {
        const bar = { time, open: price, high: price, low: price, close: price };
        bars.push(bar);
        series.update({ ...bar });
        describe();
      }
    },
    /// `levels`: `[{price, title, color, dashed}]`.
    setLevels(levels) {
      for (const line of lines) series.removePriceLine(line);
      lines = levels.map((level) => series.createPriceLine({
        price: level.price, color: level.color || '#0b5cad', lineWidth: 2,
        lineStyle: level.dashed ? lib.LineStyle.Dashed : lib.LineStyle.Solid,
        axisLabelVisible: true, title: level.title,
      }));
      container.dataset.levels = String(lines.length);
    },
    /// Backtest fires, each on the candle it fell in.
    markFires(fires) {
      const times = new Set();
      const list = [];
      for (const fire of fires) {
        const time = Math.floor(seconds(fire.at) / step) * step;
        if (times.has(time)) continue;
        times.add(time);
        list.push({ time, position: 'aboveBar', color: '#b45309', shape: 'arrowDown', text: 'fire' });
      }
      markers.setMarkers(list.sort((a, b) => a.time - b.time));
      container.dataset.markers = String(list.length);
    },
    dispose() {
      chart.remove();
    },
  };
}
