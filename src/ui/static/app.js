// pprof-exporter's pages work without this file; it adds copy buttons and
// the profile upload for /diff. No dependencies, nothing off-origin.
'use strict';

function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  // Plain http on another host is not a secure context: the old way.
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  return ok ? Promise.resolve() : Promise.reject(new Error('copy refused'));
}

function setupCopyButtons() {
  for (const button of document.querySelectorAll('button[data-copy-for]')) {
    button.addEventListener('click', () => {
      const source = document.getElementById(button.dataset.copyFor);
      if (!source) return;
      copyText(source.textContent).then(
        () => { button.textContent = 'Copied'; },
        () => { button.textContent = 'Select and copy by hand'; },
      );
      setTimeout(() => { button.textContent = 'Copy'; }, 2000);
    });
  }
}

async function upload(file) {
  const res = await fetch(`/api/v1/profiles?name=${encodeURIComponent(file.name)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: file,
  });
  let body;
  try {
    body = await res.json();
  } catch {
    throw new Error(`${file.name}: the exporter answered HTTP ${res.status}`);
  }
  if (!res.ok) throw new Error(`${file.name}: ${body.error}`);
  return body.id;
}

function setupUpload() {
  const form = document.getElementById('upload-form');
  if (!form) return;
  const error = document.getElementById('upload-error');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const base = await upload(document.getElementById('base-file').files[0]);
      const next = await upload(document.getElementById('new-file').files[0]);
      window.location.assign(`/diff?base=${encodeURIComponent(base)}&new=${encodeURIComponent(next)}`);
    } catch (err) {
      error.textContent = err.message; // text, never HTML: the message quotes the file
      error.hidden = false;
      button.disabled = false;
    }
  });
}

setupCopyButtons();
setupUpload();
