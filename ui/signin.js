// Sign-in: posts the typed token once; on success the daemon sets the HttpOnly session cookie and the browser goes
// to the machine list. The token is not stored anywhere by the page.
const form = document.getElementById('signin');
const error = document.getElementById('error');

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  error.textContent = '';
  const token = document.getElementById('token').value.trim();
  try {
    const res = await fetch('/ui/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
      credentials: 'same-origin',
    });
    if (res.ok) {
      location.assign('/ui/');
      return;
    }
    error.textContent = res.status === 401 ? 'Wrong admin token.' : `Sign-in failed (HTTP ${res.status}).`;
  } catch {
    error.textContent = 'The daemon did not answer.';
  }
});
