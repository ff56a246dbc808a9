// Account: phone number, password change, webhook (its secret shown once), delete account.

import { authed } from './api.js';
import { h, clear, field } from './dom.js';
import * as session from './session.js';
import { toast } from './toast.js';

/// A small form with its own error line; `run()` returns the success text.
function section(title, controls, submitText, run, extra) {
  const error = h('p', { class: 'error', role: 'alert' });
  const done = h('p', { class: 'done', role: 'status' });
  const headingId = `acct-${title.toLowerCase().replace(/\W+/g, '-')}`;
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': headingId },
    h('h2', { id: headingId }, title), controls, error, done, h('button', { type: 'submit' }, submitText), extra);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    done.textContent = '';
    try {
      done.textContent = await run() || '';
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  return form;
}

export async function account(main) {
  const error = h('p', { class: 'error', role: 'alert' });
  clear(main, h('h1', {}, 'Account'), error);
  let me;
  try {
    me = await authed.get('/auth/me');
  } catch (failure) {
    error.textContent = failure.message;
    return;
  }
  const phone = h('input', { type: 'tel', name: 'phone', autocomplete: 'tel', value: me.phone || '' });
  const current = h('input', { type: 'password', name: 'current_password', autocomplete: 'current-password' });
  const next = h('input', { type: 'password', name: 'new_password', autocomplete: 'new-password' });
  const url = h('input', { type: 'url', name: 'webhook_url', placeholder: 'https://example.com/hooks/prices' });
  const secretBox = h('div', { role: 'status' });
  const webhookNow = h('p', {});
  const showWebhook = async () => {
    try {
      const hook = await authed.get('/auth/me/webhook');
      webhookNow.textContent = `Current webhook: ${hook.url}`;
    } catch {
      webhookNow.textContent = 'No webhook set.';
    }
  };
  const confirmEmail = h('input', { type: 'email', name: 'confirm_email', autocomplete: 'off' });

  main.append(
    h('p', {}, `Signed in as ${me.email}.`),
    section('Phone number', field('Phone (for SMS)', phone, 'International format, e.g. +14155552671; empty removes it'), 'Save phone', async () => {
      const saved = await authed.patch('/auth/me', { phone: phone.value.trim() || null });
      phone.value = saved.phone || '';
      return saved.phone ? `Saved: ${saved.phone}` : 'Phone removed.';
    }),
    section('Password', [field('Current password', current), field('New password', next, '8 to 128 characters')], 'Change password', async () => {
      const answer = await authed.post('/auth/me/password', { current_password: current.value, new_password: next.value });
      // Every older token is now refused: carry on with the new one.
      session.signIn(me.email, answer.access_token, answer.expires_in || 86400);
      current.value = '';
      next.value = '';
      return 'Password changed. Other sessions are signed out.';
    }),
    section('Webhook', [webhookNow, field('Webhook URL', url), secretBox], 'Set webhook', async () => {
      const hook = await authed.put('/auth/me/webhook', { url: url.value.trim() });
      // The secret is shown this once; it is not kept anywhere in the app.
      clear(secretBox, h('p', {}, 'Signing secret (shown once, copy it now): '), h('code', { class: 'secret' }, hook.secret || ''));
      await showWebhook();
      return 'Webhook set.';
    }, h('button', { type: 'button', class: 'secondary', onclick: async () => {
      try {
        await authed.delete('/auth/me/webhook');
        clear(secretBox);
        await showWebhook();
      } catch (failure) {
        error.textContent = failure.message;
      }
    } }, 'Remove webhook')),
    section('Delete account', field('Type your email to confirm', confirmEmail), 'Delete my account', async () => {
      if (confirmEmail.value.trim().toLowerCase() !== me.email.toLowerCase()) throw new Error('Type your email exactly to confirm.');
      await authed.delete('/auth/me');
      session.signOut();
      toast('Your account, alerts and deliveries are deleted.');
      location.hash = '#/';
      return '';
    }),
  );
  showWebhook();
}
