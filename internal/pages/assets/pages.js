// The hosted pages work without this script. It adds, on the code page:
// pasting a whole code (the digits are taken out of whatever was pasted),
// submitting once the last digit is in, and the countdown until a new
// code may be sent, which starts from the server's cooldown.
(function () {
  'use strict';

  function digitsOf(text, length) {
    return (text || '').replace(/\D+/g, '').slice(0, length);
  }

  function codeInput(input) {
    var length = parseInt(input.getAttribute('data-code-length'), 10) || 6;
    var form = input.form;
    var submitted = false;
    function settle() {
      var d = digitsOf(input.value, length);
      if (d !== input.value) {
        input.value = d;
      }
      if (d.length === length && !submitted && form) {
        submitted = true;
        if (form.requestSubmit) {
          form.requestSubmit();
        } else {
          form.submit();
        }
      }
    }
    input.addEventListener('input', settle);
    input.addEventListener('paste', function (event) {
      var data = event.clipboardData || window.clipboardData;
      if (!data) {
        return;
      }
      var d = digitsOf(data.getData('text'), length);
      if (d) {
        event.preventDefault();
        input.value = d;
        settle();
      }
    });
    if (form) {
      form.addEventListener('submit', function () { submitted = true; });
    }
  }

  function clock(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return m + ':' + (s < 10 ? '0' : '') + s;
  }

  function countdown(button) {
    var left = parseInt(button.getAttribute('data-wait'), 10) || 0;
    var label = button.textContent;
    var waiting = button.getAttribute('data-wait-text') || '{time}';
    var hint = document.getElementById(button.getAttribute('data-wait-hint'));
    if (left <= 0) {
      return;
    }
    if (hint) {
      hint.hidden = true;
    }
    button.disabled = true;
    function tick() {
      if (left <= 0) {
        button.disabled = false;
        button.textContent = label;
        return;
      }
      button.textContent = waiting.replace('{time}', clock(left));
      left -= 1;
      window.setTimeout(tick, 1000);
    }
    tick();
  }

  document.querySelectorAll('input[data-code-length]').forEach(codeInput);
  document.querySelectorAll('button[data-wait]').forEach(countdown);
})();
