// One alert's panel in My alerts: its delivery history, "why hasn't this fired?" (the
// explain endpoint) and snooze.

import { authed } from './api.js';
import { h, clear, field } from './dom.js';
import * as format from './format.js';

const STATES = {
  paused: 'It is paused.',
  expired: 'It has expired.',
  owner_inactive: 'The account is inactive.',
  snoozed: 'It is snoozed',
  waiting_for_window: 'Not enough price history yet for its window',
  cooling_down: 'It fired recently and is cooling down',
  waiting_rearm: 'It fired and waits for the price to move back to re-arm',
  waiting_for_cross: 'It fires only when the price crosses the level',
  armed: 'It is armed: it fires as soon as the condition holds.',
};

export async function deliveries(box, alertId) {
  try {
    const list = await authed.get(`/alerts/${alertId}/notifications`);
    clear(box, h('h3', {}, 'Delivery history'), list.length === 0 ? h('p', {}, 'No deliveries yet.')
      : h('table', { class: 'deliveries', 'data-alert': alertId },
        h('thead', {}, h('tr', {}, ['Channel', 'Status', 'Attempts', 'When', 'Error'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, list.map((d) => h('tr', {},
          h('td', {}, d.channel), h('td', { class: `status ${d.status}` }, d.status), h('td', { class: 'num' }, d.attempts),
          h('td', {}, format.time(d.sent_at || d.updated_at)), h('td', {}, d.last_error || ''))))));
  } catch (failure) {
    clear(box, h('p', { class: 'error', role: 'alert' }, failure.message));
  }
}

export async function explain(box, alert, instrument) {
  try {
    const why = await authed.get(`/alerts/${alert.id}/explain`);
    let state = STATES[why.state] || why.state;
    if (why.until) state += ` until ${format.time(why.until)}`;
    if (why.level !== null && why.level !== undefined) state += ` (level ${format.price(why.level, instrument)})`;
    if (why.missing_window_seconds) state += ` (${Math.ceil(why.missing_window_seconds / 60)} min to go)`;
    const facts = [
      ['State', `${state}${state.endsWith('.') ? '' : '.'}`],
      ['Last price', `${format.price(why.last_price, instrument)} at ${format.time(why.last_price_at)}`],
      ['Distance', why.distance === null ? '—' : `${format.price(why.distance, instrument)} (${format.percent(why.distance_percent)})`],
      ['Quiet hours now', why.in_quiet_hours ? 'yes: notifications are held until they end' : 'no'],
      ['Last fired', format.time(why.last_fired_at)],
    ];
    if (why.feed_stale) facts.push(['Feed', `${why.feed_stale} has sent no fresh price lately`]);
    clear(box, h('h3', {}, 'Why hasn\u2019t this fired?'),
      h('dl', { class: 'facts' }, facts.map(([term, text]) => [h('dt', {}, term), h('dd', {}, text)])));
  } catch (failure) {
    clear(box, h('p', { class: 'error', role: 'alert' }, failure.message));
  }
}

/// Snooze until a chosen time, or end a snooze. `changed(alert)` after each write.
export function snooze(alert, changed) {
  const until = h('input', { type: 'datetime-local', name: 'snooze_until' });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'row', novalidate: true },
    field('Snooze until', until),
    h('button', { type: 'submit' }, 'Snooze'),
    alert.snoozed_until ? h('button', { type: 'button', class: 'secondary', onclick: async () => {
      try {
        changed(await authed.delete(`/alerts/${alert.id}/snooze`));
      } catch (failure) {
        error.textContent = failure.message;
      }
    } }, 'End snooze') : null,
    error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const at = new Date(until.value);
    if (Number.isNaN(at.getTime())) {
      error.textContent = 'Choose a date and time to snooze until.';
      return;
    }
    try {
      changed(await authed.post(`/alerts/${alert.id}/snooze`, { until: at.toISOString() }));
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  return form;
}
