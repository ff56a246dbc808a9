// Sign up and sign in. Errors are shown as the server words them, a 422 list included.

import { api, login } from './api.js';
import { h, clear, field } from './dom.js';

function form(title, submitText, fields, onSubmit, footer) {
  const error = h('p', { class: 'error', role: 'alert', id: 'auth-error' });
  const button = h('button', { type: 'submit' }, submitText);
  const element = h('form', { class: 'card narrow', novalidate: true, 'aria-labelledby': 'auth-title' },
    h('h1', { id: 'auth-title' }, title), fields, error, button, footer);
  element.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    button.disabled = true;
    try {
      await onSubmit();
      location.hash = '#/';
    } catch (failure) {
      error.textContent = failure.message;
    } finally {
      button.disabled = false;
    }
  });
  return element;
}

function inputs() {
  return {
    email: h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true }),
    password: h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true }),
  };
}

export function signIn(main) {
  const { email, password } = inputs();
  clear(main, form('Sign in', 'Sign in',
    [field('Email', email), field('Password', password)],
    () => login(email.value.trim(), password.value),
    h('p', {}, 'New here? ', h('a', { href: '#/signup' }, 'Create an account'))));
  email.focus();
}

export function signUp(main) {
  const { email, password } = inputs();
  password.autocomplete = 'new-password';
  const phone = h('input', { type: 'tel', name: 'phone', autocomplete: 'tel' });
  clear(main, form('Create an account', 'Sign up',
    [
      field('Email', email),
      field('Password', password, '8 to 128 characters'),
      field('Phone (optional, for SMS alerts)', phone, 'International format, e.g. +14155552671'),
    ],
    async () => {
      await api('POST', '/auth/register', {
        json: { email: email.value.trim(), password: password.value, phone: phone.value.trim() || null },
      });
      await login(email.value.trim(), password.value);
    },
    h('p', {}, 'Have an account? ', h('a', { href: '#/signin' }, 'Sign in'))));
  email.focus();
}
