// The web UI's script (web/assets): no inline script anywhere (the
// Content-Security-Policy forbids it), no third-party code, no case content
// in notifications. Talks to the JSON API of web/app.c.
'use strict';
(function () {
  let csrf = null;
  const $ = (id) => document.getElementById(id);

  async function api(method, path, body) {
    const headers = { 'Content-Type': 'application/json' };
    if (csrf) headers['X-CSRF-Token'] = csrf;
    const res = await fetch(path, { method, headers, credentials: 'same-origin',
                                    body: body ? JSON.stringify(body) : undefined });
    let data = {};
    try { data = await res.json(); } catch (e) { data = { error: 'unreadable answer' }; }
    return { status: res.status, data };
  }

  // Switches between the sign-in form and the dashboard. Signing out
  // empties the dashboard too: no case data stays in the page, even hidden.
  // focus: move the focus to the shown view's heading (after a sign-in or a
  // sign-out, whose button or field has just disappeared).
  function show(signedIn, me, focus) {
    $('signin').hidden = signedIn;
    $('dash').hidden = !signedIn;
    $('signout').hidden = !signedIn;
    $('who').textContent = signedIn ? `${me.user} (${me.role})` : '';
    if (!signedIn) {
      $('transfers').querySelector('tbody').textContent = '';
      $('dash-note').textContent = '';
    }
    if (focus) $(signedIn ? 'dash-h' : 'signin-h').focus();
  }

  function signinError(text) {
    const err = $('signin-error');
    $('signin-error-msg').textContent = text.charAt(0).toUpperCase() + text.slice(1);
    err.hidden = false;
    err.focus();
  }

  function cell(row, text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
  }

  async function loadTransfers() {
    const r = await api('GET', '/api/transfers');
    if (!csrf) return; // signed out while the answer was on its way
    const body = $('transfers').querySelector('tbody');
    body.textContent = '';
    if (r.status !== 200) {
      $('dash-note').textContent = r.data.error || 'Transfers cannot be shown.';
      return;
    }
    const xs = r.data.transfers.slice().sort((a, b) =>
      (b.overdue - a.overdue) || String(a.deadline).localeCompare(String(b.deadline)));
    $('dash-note').textContent = xs.length ? '' : 'No transfers.';
    for (const x of xs) {
      const tr = document.createElement('tr');
      cell(tr, x.status, x.overdue ? 'overdue' : '');
      cell(tr, x.direction);
      cell(tr, x.deadline || '');
      cell(tr, x.days_left === null ? '?' : String(x.days_left));
      cell(tr, x.org);
      cell(tr, x.file.slice(0, 8));
      body.appendChild(tr);
    }
  }

  async function start() {
    const r = await api('GET', '/api/me');
    if (r.status === 200) {
      csrf = r.data.csrf;
      show(true, r.data);
      loadTransfers();
    } else {
      show(false);
    }
  }

  $('signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const user = $('user').value.trim();
    const pass = $('passphrase').value;
    $('passphrase').value = '';
    if (!user || !pass) {
      signinError('Enter your user name and passphrase.');
      return;
    }
    const r = await api('POST', '/api/login', { user, passphrase: pass });
    if (r.status !== 200) {
      signinError(r.data.error || 'Cannot sign in.');
      return;
    }
    $('signin-error').hidden = true;
    csrf = r.data.csrf;
    show(true, r.data, true);
    loadTransfers();
  });

  $('signout').addEventListener('click', async () => {
    await api('POST', '/api/logout');
    csrf = null;
    show(false, null, true);
  });

  // Hide screen: at once, by button or Esc; any key or click brings it back.
  // While hidden, the page behind is inert (no focus, not read out by a
  // screen reader); the focus comes back to where it was.
  let before = null;
  function hide() {
    if (!$('curtain').hidden) return;
    before = document.activeElement;
    $('curtain').hidden = false;
    $('banner').inert = true;
    $('main').inert = true;
    $('curtain').focus();
  }
  function unhide() {
    $('curtain').hidden = true;
    $('banner').inert = false;
    $('main').inert = false;
    if (before && before !== document.body && before.isConnected) before.focus();
    before = null;
  }
  $('hide').addEventListener('click', hide);
  document.addEventListener('keydown', (ev) => {
    if (!$('curtain').hidden) { unhide(); ev.preventDefault(); return; }
    if (ev.key === 'Escape') hide();
  });
  $('curtain').addEventListener('click', unhide);

  start();
}());
