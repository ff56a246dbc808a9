// The alert editor: every condition, trigger policy, cooldown, expiry, channels, and a
// backtest preview ("would have fired N times in the last 7 days") before saving. The draft's
// levels and the preview's fires are handed to the chart through `hooks`.

import { authed } from './api.js';
import { h, field, select } from './dom.js';
import * as format from './format.js';

const CHANNELS = ['email', 'sms', 'webhook', 'telegram', 'slack', 'discord', 'ntfy'];
const PREVIEW_DELAY_MS = 400;

/// `existing`: the alert to edit (symbol and condition are then fixed, as PATCH keeps them).
/// `hooks`: `{levels(list), fires(list), saved(alert)}`.
export function alertEditor(instrument, existing, hooks) {
  const editing = Boolean(existing);
  const condition = select('condition', Object.entries(format.CONDITIONS), existing ? existing.condition : 'above');
  condition.disabled = editing;
  const target = h('input', { name: 'target_price', type: 'number', step: 'any', min: '0', inputmode: 'decimal', required: true });
  const high = h('input', { name: 'target_price_high', type: 'number', step: 'any', min: '0', inputmode: 'decimal' });
  const direction = select('direction', [['either', 'Either way'], ['up', 'Up'], ['down', 'Down']], (existing && existing.direction) || 'either');
  const windowMinutes = h('input', { name: 'window_minutes', type: 'number', min: '1', max: '1440', step: '1', value: '60' });
  const trigger = select('trigger', [['repeat', 'Every time, after the cooldown'], ['once', 'Once, then switch off']], (existing && existing.trigger) || 'repeat');
  const cooldown = h('input', { name: 'cooldown_minutes', type: 'number', min: '1', max: '525600', step: '1', value: '60' });
  const expires = h('input', { name: 'expires_at', type: 'datetime-local' });
  const urgent = h('input', { name: 'urgent', type: 'checkbox' });
  const channelBoxes = CHANNELS.map((channel) => h('input', { type: 'checkbox', name: 'channel', value: channel, id: `channel-${channel}` }));
  const preview = h('p', { class: 'preview', id: 'backtest-preview', 'aria-live': 'polite' });
  const error = h('p', { class: 'error', role: 'alert', id: 'editor-error' });
  const save = h('button', { type: 'submit', id: 'save-alert' }, editing ? 'Save changes' : 'Create alert');

  if (existing) {
    target.value = existing.target_price;
    high.value = existing.target_price_high ?? '';
    windowMinutes.value = existing.window_minutes ?? 60;
    cooldown.value = existing.cooldown_minutes;
    urgent.checked = Boolean(existing.urgent);
    if (existing.expires_at) expires.value = localInput(existing.expires_at);
  }
  const chosen = new Set((existing ? existing.notification_types : 'email').split(',').map((c) => c.trim()));
  for (const box of channelBoxes) box.checked = chosen.has(box.value);

  const targetField = field('Price', target);
  const highField = field('Upper price', high);
  const directionField = field('Direction', direction);
  const windowField = field('Window (minutes)', windowMinutes, 'The move is measured against the average over this window');
  const form = h('form', { class: 'card editor', novalidate: true, 'aria-labelledby': 'editor-title' },
    h('h2', { id: 'editor-title' }, editing ? `Edit alert #${existing.id}` : `New alert on ${instrument.symbol}`),
    h('div', { class: 'grid' },
      field('Condition', condition), targetField, highField, directionField, windowField,
      field('Trigger', trigger), field('Cooldown (minutes)', cooldown),
      field('Expires (optional)', expires, 'Your local time'),
      h('div', { class: 'field' }, h('label', { for: urgent.id = 'urgent' }, urgent, ' Urgent: send during quiet hours'))),
    h('fieldset', { class: 'channels' }, h('legend', {}, 'Notify me by'),
      channelBoxes.map((box) => h('label', { for: box.id }, box, ` ${box.value}`))),
    preview, error, h('div', { class: 'row' }, save));

  const shape = () => {
    const kind = condition.value;
    targetField.querySelector('label').textContent = kind === 'range' ? 'Lower price' : kind === 'percent_move' ? 'Percent' : 'Price';
    highField.hidden = kind !== 'range';
    directionField.hidden = kind !== 'percent_move';
    windowField.hidden = kind !== 'percent_move';
  };

  const body = () => {
    const kind = condition.value;
    const json = {
      target_price: numberOrText(target.value),
      notification_types: channelBoxes.filter((b) => b.checked).map((b) => b.value).join(','),
      cooldown_minutes: numberOrText(cooldown.value),
      trigger: trigger.value,
      urgent: urgent.checked,
      expires_at: expires.value ? new Date(expires.value).toISOString() : null,
    };
    if (kind === 'range') json.target_price_high = numberOrText(high.value);
    if (kind === 'percent_move') {
      json.direction = direction.value;
      json.window_minutes = numberOrText(windowMinutes.value);
    }
    return json;
  };

  const levels = () => {
    const kind = condition.value;
    const value = Number(target.value);
    if (kind === 'percent_move' || !(value > 0)) return [];
    const list = [{ price: value, title: 'draft', color: '#b45309', dashed: true }];
    if (kind === 'range' && Number(high.value) > 0) list.push({ price: Number(high.value), title: 'draft high', color: '#b45309', dashed: true });
    return list;
  };

  let previewTimer = 0;
  let previewAbort = null;
  const runPreview = async () => {
    if (previewAbort) previewAbort.abort();
    previewAbort = new AbortController();
    const json = { symbol: instrument.symbol, condition: condition.value, ...body() };
    if (json.expires_at === null) delete json.expires_at;
    if (!(Number(target.value) > 0)) {
      preview.textContent = '';
      hooks.fires([]);
      return;
    }
    preview.textContent = 'Checking the last 7 days…';
    try {
      const result = await authed.post('/backtest', json, { signal: previewAbort.signal });
      preview.textContent = `Would have fired ${result.count} ${result.count === 1 ? 'time' : 'times'} in the last 7 days.`;
      preview.dataset.count = String(result.count);
      preview.dataset.condition = json.condition;
      hooks.fires(result.fires);
    } catch (failure) {
      if (failure.name === 'AbortError') return;
      preview.textContent = `No preview: ${failure.message}`;
      delete preview.dataset.count;
      hooks.fires([]);
    }
  };
  const changed = () => {
    shape();
    hooks.levels(levels());
    clearTimeout(previewTimer);
    previewTimer = setTimeout(runPreview, PREVIEW_DELAY_MS);
  };
  form.addEventListener('input', changed);
  form.addEventListener('change', changed);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    save.disabled = true;
    try {
      const json = body();
      let alert;
      if (editing) {
        alert = await authed.patch(`/alerts/${existing.id}`, json);
      } else {
        if (json.expires_at === null) delete json.expires_at;
        alert = await authed.post('/alerts', { symbol: instrument.symbol, condition: condition.value, ...json });
      }
      const warnings = (alert.warnings || []).map((w) => `${w.channel}: ${w.detail}`).join('; ');
      hooks.saved(alert, warnings);
    } catch (failure) {
      error.textContent = failure.message;
    } finally {
      save.disabled = false;
    }
  });

  shape();
  return {
    element: form,
    start() {
      hooks.levels(levels());
      if (target.value) runPreview();
    },
  };
}

// Sent as typed: a number when it reads as one, else the text, so the server's 422 names it.
function numberOrText(value) {
  const trimmed = String(value).trim();
  if (trimmed === '') return null;
  const number = Number(trimmed);
  return Number.isFinite(number) ? number : trimmed;
}

function localInput(iso) {
  const date = new Date(iso);
  const offset = date.getTimezoneOffset() * 60000;
  return new Date(date.getTime() - offset).toISOString().slice(0, 16);
}
