/// <reference lib="dom" />
// The token: `failover up` prints /console/#token=<token>. A fragment is never
// sent to the server, so the token travels no further than this page; it is
// kept in sessionStorage (this tab only, gone when the tab closes) and removed
// from the address bar, so it does not end up in history or a bookmark.

const STORAGE_KEY = 'failover.console.token';

/** The token from the URL fragment (then remembered), else the one remembered for this tab. */
export function takeToken(): string | undefined {
  const fromUrl = new URLSearchParams(location.hash.replace(/^#/, '')).get('token');
  if (fromUrl !== null && fromUrl !== '') {
    sessionStorage.setItem(STORAGE_KEY, fromUrl);
    history.replaceState(null, '', `${location.pathname}${location.search}`);
    return fromUrl;
  }
  const kept = sessionStorage.getItem(STORAGE_KEY);
  return kept !== null && kept !== '' ? kept : undefined;
}

export function rememberToken(token: string): void {
  sessionStorage.setItem(STORAGE_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
