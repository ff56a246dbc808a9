// My alerts: filter, pause/resume, edit, delete, triggered count, last fired; each alert opens
// its delivery history, "why hasn't this fired?" and snooze.

import { authed } from './api.js';
import { instruments } from './catalogue.js';
import { h, clear, field, select } from './dom.js';
import * as details from './alert_details.js';
import * as format from './format.js';
import * as live from './live.js';
import { clearBadge, toast } from './toast.js';

export async function myAlerts(main) {
  clearBadge();
  const symbol = h('input', { type: 'search', name: 'symbol', autocomplete: 'off', placeholder: 'e.g. BTC' });
  const status = select('active', [['', 'All'], ['true', 'Active'], ['false', 'Paused']], '');
  const error = h('p', { class: 'error', role: 'alert', id: 'alerts-error' });
  const list = h('div', { id: 'alert-list' });
  const filters = h('form', { class: 'row filters', role: 'search', 'aria-label': 'Filter alerts' },
    field('Symbol', symbol), field('Status', status));
  clear(main, h('h1', {}, 'My alerts'), filters, error, list);
  const catalogue = await instruments().catch(() => new Map());
  const open = new Map(); // alert id → its detail box, kept open across refreshes

  let latest = 0;
  const refresh = async () => {
    // Typing in the filter starts a request per key: only the newest one may draw the list.
    const mine = ++latest;
    const query = new URLSearchParams({ limit: '100' });
    if (symbol.value.trim()) query.set('symbol', symbol.value.trim());
    if (status.value) query.set('active', status.value);
    let alerts;
    try {
      alerts = await authed.get(`/alerts?${query}`);
      if (mine !== latest) return;
      error.textContent = '';
    } catch (failure) {
      error.textContent = failure.message;
      return;
    }
    if (alerts.length === 0) {
      clear(list, h('p', {}, 'No alerts. Open an instrument on the ', h('a', { href: '#/' }, 'market board'), ' to set one.'));
      return;
    }
    clear(list, h('ul', { class: 'alerts' }, alerts.map((alert) => row(alert, catalogue.get(alert.symbol)))));
  };

  const row = (alert, instrument) => {
    const detailBox = h('div', { class: 'details', id: `details-${alert.id}`, hidden: !open.has(alert.id) });
    const showDetails = () => {
      open.set(alert.id, detailBox);
      detailBox.hidden = false;
      const deliveryBox = h('div', { class: 'delivery-box' });
      const explainBox = h('div');
      clear(detailBox, deliveryBox, explainBox, details.snooze(alert, () => refresh()));
      details.deliveries(deliveryBox, alert.id);
      details.explain(explainBox, alert, instrument);
    };
    if (open.has(alert.id)) showDetails();
    const label = format.describeAlert(alert, instrument);
    let confirming = false;
    const remove = h('button', { type: 'button', class: 'danger', 'data-action': 'delete', 'aria-label': `Delete alert ${label}` }, 'Delete');
    remove.addEventListener('click', async () => {
      if (!confirming) {
        confirming = true;
        remove.textContent = 'Confirm delete';
        remove.setAttribute('aria-label', `Confirm delete of alert ${label}`);
        return;
      }
      try {
        await authed.delete(`/alerts/${alert.id}`);
        open.delete(alert.id);
        toast(`Alert #${alert.id} deleted`);
        refresh();
      } catch (failure) {
        error.textContent = failure.message;
      }
    });
    const snoozed = alert.snoozed_until && Date.parse(alert.snoozed_until) > Date.now();
    const state = !alert.active ? 'paused' : snoozed ? `snoozed until ${format.time(alert.snoozed_until)}` : 'active';
    return h('li', { class: `alert ${alert.active ? 'on' : 'off'}`, 'data-alert': alert.id },
      h('div', { class: 'summary' },
        h('a', { class: 'what', href: `#/i/${encodeURIComponent(alert.symbol)}` }, label),
        h('span', { class: 'state', 'data-state': alert.active ? 'active' : 'paused' }, state),
        h('span', { class: 'triggered' }, `fired ${alert.triggered_count}×`),
        h('span', {}, `last fired ${format.time(alert.last_triggered_at)}`),
        h('span', {}, `via ${alert.notification_types}`)),
      h('div', { class: 'row actions' },
        h('button', { type: 'button', 'data-action': 'toggle', 'aria-label': `${alert.active ? 'Pause' : 'Resume'} alert ${label}`, onclick: async () => {
          try {
            await authed.post(`/alerts/${alert.id}/toggle`);
            refresh();
          } catch (failure) {
            error.textContent = failure.message;
          }
        } }, alert.active ? 'Pause' : 'Resume'),
        h('a', { class: 'button', 'data-action': 'edit', href: `#/i/${encodeURIComponent(alert.symbol)}/edit/${alert.id}`, 'aria-label': `Edit alert ${label}` }, 'Edit'),
        h('button', { type: 'button', 'data-action': 'details', 'aria-expanded': String(open.has(alert.id)), 'aria-controls': detailBox.id,
          'aria-label': `Details of alert ${label}: deliveries, status, snooze`, onclick: (event) => {
            if (open.has(alert.id)) {
              open.delete(alert.id);
              detailBox.hidden = true;
              event.currentTarget.setAttribute('aria-expanded', 'false');
            } else {
              event.currentTarget.setAttribute('aria-expanded', 'true');
              showDetails();
            }
          } }, 'Details'),
        remove),
      detailBox);
  };

  filters.addEventListener('input', refresh);
  filters.addEventListener('submit', (event) => event.preventDefault());
  await refresh();
  // A fire or a settled delivery of one of these alerts: show it.
  const stops = [live.on('alert', () => { clearBadge(); refresh(); }), live.on('delivery', refresh)];
  return () => stops.forEach((stop) => stop());
}
