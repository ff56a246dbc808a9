// The signed-in user's token. Kept in localStorage so a reload or a second tab stays signed in
// for the token's life (the server's expires_in, a day): a price-alert user comes back to the
// tab often. The strict Content-Security-Policy (no inline or outside scripts) is what keeps
// other scripts from reading it; sign-out removes it.

const KEY = 'pricealert.session';

function read() {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) || 'null');
    if (stored && typeof stored.token === 'string' && stored.expiresAt > Date.now()) return stored;
  } catch {
    // A damaged entry is the same as none.
  }
  localStorage.removeItem(KEY);
  return null;
}

let current = read();

export function token() {
  return current ? current.token : null;
}

export function email() {
  return current ? current.email : null;
}

export function signedIn() {
  return current !== null;
}

export function signIn(email, accessToken, expiresInSeconds) {
  current = { token: accessToken, email, expiresAt: Date.now() + expiresInSeconds * 1000 };
  localStorage.setItem(KEY, JSON.stringify(current));
  window.dispatchEvent(new CustomEvent('session'));
}

export function signOut() {
  current = null;
  localStorage.removeItem(KEY);
  window.dispatchEvent(new CustomEvent('session'));
}

// Another tab signing in or out.
window.addEventListener('storage', (event) => {
  if (event.key !== KEY) return;
  current = read();
  window.dispatchEvent(new CustomEvent('session'));
});
