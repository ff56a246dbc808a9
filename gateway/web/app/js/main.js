// Start-up and the hash router: `#/` board, `#/i/SYM[/edit/ID]` instrument, `#/alerts`,
// `#/account`, `#/settings`, `#/signin`, `#/signup`. The server serves one page; every
// screen is drawn here.

import { account } from './account.js';
import { myAlerts } from './alerts.js';
import * as authView from './auth_view.js';
import { board } from './board.js';
import { instruments } from './catalogue.js';
import * as format from './format.js';
import { instrumentPage } from './instrument.js';
import * as live from './live.js';
import * as reauth from './reauth.js';
import * as session from './session.js';
import { settings } from './settings.js';
import { countFire, toast } from './toast.js';

const main = document.getElementById('main');
let leave = () => {};
let generation = 0;

const NEEDS_SIGN_IN = new Set(['alerts', 'account', 'settings']);

async function route() {
  const thisRoute = ++generation;
  leave();
  leave = () => {};
  const [name = '', ...rest] = location.hash.replace(/^#\/?/, '').split('?')[0].split('/');
  if (NEEDS_SIGN_IN.has(name) && !session.signedIn()) {
    location.hash = '#/signin';
    return;
  }
  let dispose;
  switch (name) {
    case '':
      dispose = await board(main);
      break;
    case 'i':
      dispose = await instrumentPage(main, decodeURIComponent(rest[0] || '').toUpperCase(), rest[1] === 'edit' ? rest[2] : null);
      break;
    case 'alerts':
      dispose = await myAlerts(main);
      break;
    case 'account':
      dispose = await account(main);
      break;
    case 'settings':
      dispose = await settings(main);
      break;
    case 'signin':
      authView.signIn(main);
      break;
    case 'signup':
      authView.signUp(main);
      break;
    default:
      main.textContent = 'Nothing here.';
  }
  const cleanup = typeof dispose === 'function' ? dispose : () => {};
  // The user moved on while this screen was loading: close it at once.
  if (thisRoute !== generation) cleanup();
  else leave = cleanup;
}

function showSession() {
  const signedIn = session.signedIn();
  for (const element of document.querySelectorAll('[data-signed-in]')) element.hidden = !signedIn;
  for (const element of document.querySelectorAll('[data-signed-out]')) element.hidden = signedIn;
  document.getElementById('nav-account').title = signedIn ? session.email() : '';
  document.body.dataset.session = signedIn ? 'in' : 'out';
}

reauth.install();
showSession();
let wasSignedIn = session.signedIn();
window.addEventListener('session', () => {
  showSession();
  // Only a change between signed in and out redraws the screen: a new token for the same
  // user (signing in again after a 401, a password change) keeps the page and its forms.
  if (session.signedIn() !== wasSignedIn) {
    wasSignedIn = session.signedIn();
    route();
  }
});
window.addEventListener('hashchange', route);
document.getElementById('sign-out').addEventListener('click', () => {
  session.signOut();
  location.hash = '#/';
});
live.on('alert', async (fire) => {
  countFire();
  const catalogue = await instruments().catch(() => new Map());
  const instrument = catalogue.get(fire.symbol);
  toast(`Alert #${fire.alert_id} fired: ${fire.symbol} ${fire.condition} ${format.price(fire.target_price, instrument)}, now ${format.price(fire.current_price, instrument)}`, 'fire');
});
live.start(document.getElementById('live-status'));
route();
