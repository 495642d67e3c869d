/**
 * Signing up and logging in. The server sets the session as an HttpOnly cookie: the
 * page keeps no token (the one in the answer's body is dropped with the client that read
 * it), so no script can read the session.
 * @module
 */
import { MessengerClient } from '../client/index.js';
import { el, replaceChildren } from './dom.js';
import { reasonOf } from './reasons.js';

/** Shows the sign-in form in `root`; `signedIn` runs once the browser holds a session. */
export function showSignIn(root: HTMLElement, signedIn: () => void, notice?: string): void {
  const username = el('input', {
    attrs: {
      id: 'username',
      name: 'username',
      autocomplete: 'username',
      required: true,
      maxlength: '64',
      autocapitalize: 'none',
      spellcheck: 'false',
    },
  });
  const password = el('input', {
    attrs: {
      id: 'password',
      name: 'password',
      type: 'password',
      autocomplete: 'current-password',
      required: true,
      'aria-describedby': 'password-hint',
    },
  });
  const error = el('p', { class: 'form-error', attrs: { id: 'sign-in-error', role: 'alert' } });
  const logIn = el(
    'button',
    { class: 'primary', attrs: { type: 'submit', value: 'login' } },
    'Log in',
  );
  const signUp = el('button', { attrs: { type: 'submit', value: 'register' } }, 'Sign up');
  const form = el(
    'form',
    { class: 'sign-in', attrs: { 'aria-labelledby': 'sign-in-title', novalidate: true } },
    el('h1', { attrs: { id: 'sign-in-title' } }, 'Messenger'),
    notice ? el('p', { class: 'notice-text' }, notice) : null,
    el('label', { attrs: { for: 'username' } }, 'Username'),
    username,
    el('label', { attrs: { for: 'password' } }, 'Password'),
    password,
    el(
      'p',
      { class: 'hint', attrs: { id: 'password-hint' } },
      'A new password: 15 to 256 characters.',
    ),
    error,
    el('div', { class: 'actions' }, logIn, signUp),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const route = (event.submitter as HTMLButtonElement | null)?.value ?? 'login';
    // A password manager should offer a new password when signing up.
    password.autocomplete = route === 'register' ? 'new-password' : 'current-password';
    error.textContent = '';
    if (!username.value.trim()) {
      error.textContent = 'Type a username.';
      username.focus();
      return;
    }
    for (const button of [logIn, signUp]) button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const signIn = route === 'register' ? MessengerClient.register : MessengerClient.login;
      await signIn(location.origin, username.value.trim(), password.value);
      signedIn();
    } catch (failure) {
      error.textContent = reasonOf(failure, route === 'register' ? 'sign up' : 'log in');
      password.select();
    } finally {
      for (const button of [logIn, signUp]) button.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });
  replaceChildren(root, el('main', { class: 'sign-in-page' }, form));
  username.focus();
}
