// Notification settings: chat channels (Telegram, Slack, Discord, ntfy) with "send test",
// and quiet hours.

import { authed } from './api.js';
import { h, clear, field } from './dom.js';

const CHANNELS = {
  telegram: { title: 'Telegram', fields: [['chat_id', 'Chat id', 'text']] },
  slack: { title: 'Slack', fields: [['webhook_url', 'Incoming webhook URL', 'url']] },
  discord: { title: 'Discord', fields: [['webhook_url', 'Webhook URL', 'url']] },
  ntfy: { title: 'ntfy', fields: [['server', 'Server', 'url'], ['topic', 'Topic', 'text'], ['token', 'Access token (optional)', 'password']] },
};

function channelCard(kind, spec) {
  const inputs = spec.fields.map(([name, label, type]) => [name, label, h('input', { type, name, autocomplete: 'off' })]);
  const now = h('p', {});
  const error = h('p', { class: 'error', role: 'alert' });
  const done = h('p', { class: 'done', role: 'status' });
  const show = async () => {
    try {
      const view = await authed.get(`/auth/me/channels/${kind}`);
      // Secrets come back masked (a webhook URL shows only its scheme and host).
      const shown = Object.entries(view.config || {}).map(([k, v]) => `${k.replaceAll('_', ' ')}: ${v}`).join(', ');
      now.textContent = `Set (${shown}).`;
    } catch {
      now.textContent = 'Not set.';
    }
  };
  const act = (run) => async (event) => {
    if (event) event.preventDefault();
    error.textContent = '';
    done.textContent = '';
    try {
      done.textContent = await run();
    } catch (failure) {
      error.textContent = failure.message;
    }
  };
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': `ch-${kind}` },
    h('h2', { id: `ch-${kind}` }, spec.title), now,
    inputs.map(([, label, input]) => field(label, input)), error, done,
    h('div', { class: 'row' },
      h('button', { type: 'submit' }, `Save ${spec.title}`),
      h('button', { type: 'button', class: 'secondary', onclick: act(async () => {
        const result = await authed.post(`/auth/me/channels/${kind}/test`);
        return `Test sent${result && result.status ? ` (${result.status})` : ''}.`;
      }) }, `Send test to ${spec.title}`),
      h('button', { type: 'button', class: 'secondary', onclick: act(async () => {
        await authed.delete(`/auth/me/channels/${kind}`);
        await show();
        return 'Removed.';
      }) }, `Remove ${spec.title}`)));
  form.addEventListener('submit', act(async () => {
    const body = {};
    for (const [name, , input] of inputs) if (input.value.trim()) body[name] = input.value.trim();
    await authed.put(`/auth/me/channels/${kind}`, body);
    for (const [, , input] of inputs) input.value = '';
    await show();
    return 'Saved.';
  }));
  show();
  return form;
}

function quietHours() {
  const zone = h('input', { type: 'text', name: 'timezone', autocomplete: 'off', value: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' });
  const start = h('input', { type: 'time', name: 'start', value: '22:00' });
  const end = h('input', { type: 'time', name: 'end', value: '07:00' });
  const now = h('p', {});
  const error = h('p', { class: 'error', role: 'alert' });
  const show = async () => {
    try {
      const q = await authed.get('/auth/me/quiet-hours');
      zone.value = q.timezone;
      start.value = q.start;
      end.value = q.end;
      now.textContent = `Quiet ${q.start}–${q.end} (${q.timezone})${q.active_now ? ', in effect now' : ''}.`;
    } catch {
      now.textContent = 'No quiet hours: notifications go out at any time.';
    }
  };
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'quiet-title' },
    h('h2', { id: 'quiet-title' }, 'Quiet hours'), now,
    h('p', {}, 'Notifications due in this window are held and sent as one digest when it ends; urgent alerts still go out.'),
    field('Time zone (IANA name)', zone), field('From', start), field('To', end), error,
    h('div', { class: 'row' }, h('button', { type: 'submit' }, 'Save quiet hours'),
      h('button', { type: 'button', class: 'secondary', onclick: async () => {
        error.textContent = '';
        try {
          await authed.delete('/auth/me/quiet-hours');
        } catch (failure) {
          error.textContent = failure.message;
        }
        show();
      } }, 'Remove quiet hours')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    try {
      await authed.put('/auth/me/quiet-hours', { timezone: zone.value.trim(), start: start.value, end: end.value });
      await show();
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  show();
  return form;
}

export function settings(main) {
  clear(main, h('h1', {}, 'Notifications'), quietHours(),
    Object.entries(CHANNELS).map(([kind, spec]) => channelCard(kind, spec)));
}
