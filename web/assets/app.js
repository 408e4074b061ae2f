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

  function show(signedIn, me) {
    $('signin').hidden = signedIn;
    $('dash').hidden = !signedIn;
    $('signout').hidden = !signedIn;
    $('who').textContent = signedIn ? `${me.user} (${me.role})` : '';
  }

  function cell(row, text, cls) {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
  }

  async function loadTransfers() {
    const r = await api('GET', '/api/transfers');
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
    const err = $('signin-error');
    const user = $('user').value.trim();
    const pass = $('passphrase').value;
    $('passphrase').value = '';
    if (!user || !pass) {
      err.textContent = 'Enter your user name and passphrase.';
      err.hidden = false;
      err.focus();
      return;
    }
    const r = await api('POST', '/api/login', { user, passphrase: pass });
    if (r.status !== 200) {
      err.textContent = r.data.error || 'Cannot sign in.';
      err.hidden = false;
      err.focus();
      return;
    }
    err.hidden = true;
    csrf = r.data.csrf;
    show(true, r.data);
    loadTransfers();
  });

  $('signout').addEventListener('click', async () => {
    await api('POST', '/api/logout');
    csrf = null;
    show(false);
  });

  // Hide screen: at once, by button or Esc; any key or click brings it back.
  function hide() { $('curtain').hidden = false; }
  function unhide() { $('curtain').hidden = true; }
  $('hide').addEventListener('click', hide);
  document.addEventListener('keydown', (ev) => {
    if (!$('curtain').hidden) { unhide(); ev.preventDefault(); return; }
    if (ev.key === 'Escape') hide();
  });
  $('curtain').addEventListener('click', unhide);

  start();
}());
