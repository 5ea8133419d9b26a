// The console works without this script. It adds the live preview of the
// template editor: as you type, the unsaved template goes to the server
// (the form, with its CSRF token, posted to the preview endpoint), which
// renders it as a send would; the sandboxed frame shows the HTML part and
// the page the subject, the sender and the text part.
(function () {
  'use strict';

  var form = document.getElementById('template-form');
  if (!form || !form.getAttribute('data-preview') || !window.fetch) {
    return;
  }
  var url = form.getAttribute('data-preview');
  var frame = document.getElementById('preview-html');
  var problem = document.getElementById('preview-error');
  var timer = 0;
  var asked = 0;

  function show(id, value) {
    var el = document.getElementById(id);
    if (el) {
      el.textContent = value || '';
    }
  }

  function mark(fieldID) {
    form.querySelectorAll('[aria-invalid="true"]').forEach(function (el) {
      el.removeAttribute('aria-invalid');
    });
    if (fieldID) {
      var el = document.getElementById(fieldID);
      if (el) {
        el.setAttribute('aria-invalid', 'true');
      }
    }
  }

  function update() {
    var mine = ++asked;
    var body = new URLSearchParams(new FormData(form));
    body.delete('action');
    fetch(url, {method: 'POST', body: body, credentials: 'same-origin', headers: {'Accept': 'application/json'}})
      .then(function (r) {
        return r.json();
      })
      .then(function (d) {
        if (mine !== asked) {
          return; // a later keystroke's answer is on its way
        }
        if (d.error) {
          problem.textContent = d.error;
          problem.hidden = false;
          mark(d.field);
          return;
        }
        problem.hidden = true;
        problem.textContent = '';
        mark('');
        show('preview-subject', d.subject);
        show('preview-from', d.from);
        show('preview-reply-to', d.replyTo);
        show('preview-text', d.text);
        frame.hidden = !d.html;
        frame.srcdoc = d.html || '';
        form.setAttribute('data-previewed', String(mine));
      })
      .catch(function () {
        if (mine === asked) {
          problem.textContent = problem.getAttribute('data-offline') || 'The preview could not be updated.';
          problem.hidden = false;
        }
      });
  }

  form.addEventListener('input', function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, 250);
  });
  form.addEventListener('change', function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(update, 50);
  });
})();

// The sign-in experience's live preview: as the form changes, the unsaved
// form is posted (its CSRF token with it) into the preview frame by the
// form's Preview button, which without this script does the same when
// pressed; the server renders the hosted page with those settings.
(function () {
  'use strict';

  var form = document.getElementById('sign-in-exp-form');
  var button = document.getElementById('preview-sign-in-exp');
  if (!form || !button || !form.requestSubmit) {
    return;
  }
  var timer = 0;
  var sent = 0;

  function refresh() {
    sent++;
    form.setAttribute('data-previewed', String(sent));
    form.requestSubmit(button);
  }

  form.addEventListener('input', function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 300);
  });
  form.addEventListener('change', function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 100);
  });
})();
