// Numbers and times as the reader's locale writes them; each price in its instrument's own
// currency and precision (NIFTY50 in ₹, BTC in $ with 2 decimals, SHIB with 8).

const formatters = new Map();

function priceFormatter(currency, decimals) {
  const key = `${currency}/${decimals}`;
  if (!formatters.has(key)) {
    let formatter;
    try {
      formatter = new Intl.NumberFormat(undefined, {
        style: 'currency', currency, minimumFractionDigits: decimals, maximumFractionDigits: decimals,
      });
    } catch {
      // A code Intl does not know: the number, then the code.
      const plain = new Intl.NumberFormat(undefined, { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
      formatter = { format: (value) => `${plain.format(value)} ${currency}` };
    }
    formatters.set(key, formatter);
  }
  return formatters.get(key);
}

/// `instrument`: `{currency, decimals}` from /prices/instruments.
export function price(value, instrument) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return '—';
  const currency = (instrument && instrument.currency) || 'USD';
  const decimals = instrument && Number.isInteger(instrument.decimals) ? instrument.decimals : 2;
  return priceFormatter(currency, decimals).format(Number(value));
}

const percentFormat = new Intl.NumberFormat(undefined, {
  style: 'percent', minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: 'exceptZero',
});

/// `value` in percent (e.g. -2.5).
export function percent(value) {
  if (value === null || value === undefined) return '—';
  return percentFormat.format(Number(value) / 100);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function time(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '—' : timeFormat.format(date);
}

export const CONDITIONS = {
  above: 'Above',
  below: 'Below',
  crosses: 'Crosses',
  range: 'Inside range',
  percent_move: 'Moves by percent',
};

/// "BTC above $70,000.00", "ETH inside $1.00 – $2.00", "SOL moves 5 % within 60 min".
export function describeAlert(alert, instrument) {
  const level = price(alert.target_price, instrument);
  switch (alert.condition) {
    case 'range':
      return `${alert.symbol} inside ${level} – ${price(alert.target_price_high, instrument)}`;
    case 'percent_move':
      return `${alert.symbol} moves ${alert.target_price} % ${alert.direction || 'either'} within ${alert.window_minutes} min`;
    default:
      return `${alert.symbol} ${alert.condition} ${level}`;
  }
}
