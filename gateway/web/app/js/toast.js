// Toasts (announced politely to screen readers) and the "new fires" badge on My alerts.

import { h } from './dom.js';

const TOAST_MS = 8000;
let unseen = 0;

export function toast(text, kind = 'info') {
  const region = document.getElementById('toasts');
  const close = h('button', { type: 'button', class: 'close', 'aria-label': 'Dismiss' }, '×');
  const item = h('div', { class: `toast ${kind}` }, h('span', {}, text), close);
  close.addEventListener('click', () => item.remove());
  region.append(item);
  setTimeout(() => item.remove(), TOAST_MS);
}

function showBadge() {
  const badge = document.getElementById('badge');
  badge.textContent = String(unseen);
  badge.hidden = unseen === 0;
  badge.setAttribute('aria-label', `${unseen} new ${unseen === 1 ? 'fire' : 'fires'}`);
}

export function countFire() {
  unseen += 1;
  showBadge();
}

export function clearBadge() {
  unseen = 0;
  showBadge();
}
