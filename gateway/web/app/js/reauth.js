// An expired session: a modal dialog asks for the password again and the request that met the
// 401 is repeated; the page behind it (a half-edited alert included) is left as it was.

import { login, onSessionExpired } from './api.js';
import * as session from './session.js';

let pending = null;

function ask() {
  const dialog = document.getElementById('reauth');
  const form = document.getElementById('reauth-form');
  const email = document.getElementById('reauth-email');
  const password = document.getElementById('reauth-password');
  const error = document.getElementById('reauth-error');
  email.value = session.email() || email.value;
  password.value = '';
  error.textContent = '';
  return new Promise((resolve) => {
    const finish = (ok) => {
      form.removeEventListener('submit', submit);
      document.getElementById('reauth-cancel').removeEventListener('click', cancel);
      dialog.removeEventListener('cancel', cancel);
      if (dialog.open) dialog.close();
      resolve(ok);
    };
    const submit = async (event) => {
      event.preventDefault();
      try {
        await login(email.value.trim(), password.value);
        finish(true);
      } catch (failure) {
        error.textContent = failure.message;
      }
    };
    const cancel = (event) => {
      event.preventDefault();
      session.signOut();
      finish(false);
    };
    form.addEventListener('submit', submit);
    document.getElementById('reauth-cancel').addEventListener('click', cancel);
    dialog.addEventListener('cancel', cancel);
    dialog.showModal();
    (email.value ? password : email).focus();
  });
}

export function install() {
  // Several requests failing at once share one dialog.
  onSessionExpired(() => {
    if (!session.signedIn() && !session.email()) return Promise.resolve(false);
    if (!pending) pending = ask().finally(() => { pending = null; });
    return pending;
  });
}
