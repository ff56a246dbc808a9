// The one live connection (`/prices/ws`, protocol v2): prices for what the current screen
// watches, and, once authenticated, the user's fires and deliveries. It reconnects with
// exponential backoff and says in the header when it is offline.

import * as session from './session.js';

const listeners = { price: new Set(), alert: new Set(), delivery: new Set() };
let socket = null;
let watching = '*';
let attempt = 0;
let retryTimer = null;
let statusElement = null;

export function on(kind, listener) {
  listeners[kind].add(listener);
  return () => listeners[kind].delete(listener);
}

/// `symbols`: `'*'` or a list. The server answers with a snapshot of what it named.
export function watch(symbols) {
  watching = symbols;
  send({ type: 'subscribe', symbols });
}

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function status(text, state) {
  if (!statusElement) return;
  statusElement.textContent = text;
  statusElement.dataset.state = state;
}

function emit(kind, message) {
  for (const listener of listeners[kind]) listener(message);
}

function received(event) {
  let message;
  try {
    message = JSON.parse(event.data);
  } catch {
    return; // Not ours to read.
  }
  if (!message || typeof message !== 'object') return;
  switch (message.type) {
    case 'snapshot':
      for (const price of Object.values(message.prices || {})) emit('price', price);
      break;
    case 'alert':
      emit('alert', message);
      break;
    case 'delivery':
      emit('delivery', message);
      break;
    case undefined:
      if (typeof message.symbol === 'string') emit('price', message);
      break;
    default:
      break; // subscribed, authenticated, auth_expired, pong, heartbeat, error
  }
}

function connect() {
  clearTimeout(retryTimer);
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const opened = new WebSocket(`${scheme}://${location.host}/prices/ws`);
  socket = opened;
  status('connecting…', 'connecting');
  opened.addEventListener('open', () => {
    attempt = 0;
    status('live', 'live');
    send({ type: 'subscribe', symbols: watching });
    if (session.signedIn()) send({ type: 'auth', token: session.token() });
  });
  opened.addEventListener('message', received);
  opened.addEventListener('close', () => {
    if (socket !== opened) return; // replaced on purpose
    socket = null;
    // 0.5 s, 1 s, 2 s … at most 30 s, with jitter so many tabs do not return at once.
    const delay = Math.min(30000, 500 * 2 ** attempt) * (0.75 + Math.random() / 2);
    attempt += 1;
    status(`offline — retrying in ${Math.ceil(delay / 1000)} s`, 'offline');
    retryTimer = setTimeout(connect, delay);
  });
}

export function start(element) {
  statusElement = element;
  connect();
  window.addEventListener('session', () => {
    if (session.signedIn()) {
      send({ type: 'auth', token: session.token() });
    } else if (socket) {
      // Signed out: a fresh, anonymous connection (a socket cannot be un-authenticated).
      const old = socket;
      socket = null;
      old.close();
      connect();
    }
  });
  window.addEventListener('online', () => { if (!socket) connect(); });
}
